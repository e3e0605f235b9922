"""Migrations build exactly the models' schema and go down again, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from portal import create_app
from portal.extensions import db
from tests.support.databases import scratch_database


@pytest.fixture
def scratch_url(tmp_path):
    with scratch_database(tmp_path, "lastmile_scratch") as url:
        yield url


@pytest.mark.committed  # an app and a database of its own
def test_upgrade_matches_models_and_downgrade_removes_everything(scratch_url):
    app = create_app(
        {"ENV_NAME": "test", "SECRET_KEY": "m" * 40, "SQLALCHEMY_DATABASE_URI": scratch_url}
    )
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            diff = compare_metadata(
                MigrationContext.configure(conn, opts={"compare_type": True}), db.metadata
            )
        assert diff == []
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        assert "parcel" in inspect(db.engine).get_table_names()
        db.engine.dispose()
