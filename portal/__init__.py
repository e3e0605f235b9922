"""Lastmile portal: create_app() wires config, extensions, blueprints, CLI and error pages."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from portal import i18n, logs
from portal.config import (
    CONFIGS,
    SECRET_KEYS,
    database_url,
    from_environment,
    instance_secret_key,
)
from portal.connections import check_on_checkout
from portal.extensions import babel, csrf, db, htmx, limiter, login_manager, migrate
from portal.i18n import install_fast_gettext, select_locale


def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    env_name = (config or {}).get("ENV_NAME") or os.environ.get("LASTMILE_ENV", "development")
    if env_name not in CONFIGS:
        raise RuntimeError(f"LASTMILE_ENV must be one of {', '.join(CONFIGS)}")
    app.config.from_object(CONFIGS[env_name])
    app.config["SQLALCHEMY_DATABASE_URI"] = database_url(
        os.environ.get("DATABASE_URL"), app.instance_path
    )
    app.config.update(from_environment(os.environ))
    app.config.from_prefixed_env("LASTMILE")
    # from_prefixed_env reads values as JSON: a token such as "1e5" or "123" would become a
    # number. Secrets are kept as the strings they were typed as.
    for key in SECRET_KEYS:
        if (raw := os.environ.get(f"LASTMILE_{key}")) is not None:
            app.config[key] = raw
    if config:
        app.config.update(config)
    _secret_key(app)
    if app.config.get("PROXY_FIX_X_FOR"):
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=int(app.config["PROXY_FIX_X_FOR"]), x_proto=1)

    # The app factory imports the models, blueprints and commands here, not at the top: importing
    # any module of the package (a pure one, the worker's) runs this file first, and should not
    # load the whole web app.
    from portal import models  # noqa: F401, PLC0415  (register models with the metadata)

    db.init_app(app)
    if app.config["DATABASE_SOCKET_CHECK"]:
        with app.app_context():
            for engine in db.engines.values():
                check_on_checkout(engine)
    migrations = os.path.join(os.path.dirname(os.path.dirname(__file__)), "migrations")
    # Batch mode lets Alembic alter tables on SQLite, which cannot ALTER most things in place.
    migrate.init_app(app, db, directory=migrations, render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    install_fast_gettext(app)
    htmx.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)

    from portal import accounts, errors, filters, health, observability, security  # noqa: PLC0415
    from portal.admin import bp as admin_bp  # noqa: PLC0415  (app factory)
    from portal.admin import merchants as admin_merchants  # noqa: PLC0415  (app factory)
    from portal.api import bp as api_bp  # noqa: PLC0415  (app factory)
    from portal.complaints import bp as complaints_bp  # noqa: PLC0415  (app factory)
    from portal.delivery import bp as delivery_bp  # noqa: PLC0415  (app factory)
    from portal.me import bp as me_bp  # noqa: PLC0415  (app factory)
    from portal.notifications import bp as notifications_bp  # noqa: PLC0415  (app factory)
    from portal.pages import bp as pages_bp  # noqa: PLC0415  (app factory)
    from portal.returns import bp as returns_bp  # noqa: PLC0415  (app factory)
    from portal.static_files import register as register_static  # noqa: PLC0415  (app factory)
    from portal.tracking import bp as tracking_bp  # noqa: PLC0415  (app factory)

    app.register_blueprint(tracking_bp)
    app.register_blueprint(delivery_bp)
    app.register_blueprint(complaints_bp)
    app.register_blueprint(returns_bp)
    app.register_blueprint(pages_bp)
    app.register_blueprint(me_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(notifications_bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(i18n.bp)
    app.register_blueprint(accounts.bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(admin_merchants.brand_bp)  # public: merchants' logos and colours
    csrf.exempt(api_bp)  # Bearer-key API: no cookies, so no CSRF.
    errors.register(app)
    filters.register(app)
    security.register(app)
    register_static(app)  # content-hashed static URLs, cached for a year
    observability.register(app)  # request ids, request metrics, /metrics

    from portal.cli import register as register_cli  # noqa: PLC0415  (app factory)

    logs.install(app.config["LOG_FORMAT"])

    register_cli(app)
    return app


def _secret_key(app: Flask) -> None:
    if app.config["ENV_NAME"] == "production":
        key = app.config.get("SECRET_KEY") or ""
        if len(key) < 32:
            raise RuntimeError(
                "Production needs SECRET_KEY set to a random value of at least 32 characters."
            )
    elif not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = instance_secret_key(app.instance_path)
