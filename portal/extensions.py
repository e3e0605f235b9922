"""Flask extensions, created unbound here and bound to the app in create_app()."""

import sqlite3
from typing import TypeVar

from flask import g, has_app_context, has_request_context, request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from htmx_flask import Htmx
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase

from portal.net import remote_client

# Named constraints keep Alembic migrations reversible on SQLite (batch mode) and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
csrf = CSRFProtect()
babel = Babel()
htmx = Htmx()
# Per client, an IPv6 client being its /64 (portal/net.py).
limiter = Limiter(key_func=remote_client)
login_manager = LoginManager()


@event.listens_for(Engine, "connect")
def _sqlite_connect(dbapi_connection, connection_record) -> None:
    """SQLite, the embedded default, made transactional like PostgreSQL.

    Python's sqlite3 driver opens transactions itself, and not before a SAVEPOINT: releasing the
    outermost savepoint then commits for good, and a later rollback undoes nothing. So the driver
    is told to keep out (isolation_level None) and `_sqlite_begin` starts each transaction.
    WAL lets pages read while a write is under way; writers wait for each other up to 10 s, and
    two that collide anyway get "database is locked", answered as 503 (try again). SQLite is the
    single-user embedded default; production runs on PostgreSQL.
    """
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


@event.listens_for(Engine, "begin")
def _sqlite_begin(conn) -> None:
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN" if _reading_only() else "BEGIN IMMEDIATE")


def _reading_only() -> bool:
    """A GET page on SQLite reads from its snapshot (WAL) and never waits. Other requests, and
    the in-process message sender (`g.sqlite_writer`), take the write lock up front: one that
    read first and wants to write after another writer committed would get SQLITE_BUSY at
    once, which no busy_timeout waits out, and a merchant's second call would answer 503.
    Tests and commands keep deferred transactions, so a test holding one never blocks the
    live server it drives."""
    if has_request_context():
        return request.method in ("GET", "HEAD", "OPTIONS")
    return not (has_app_context() and g.get("sqlite_writer", False))


# Ids are 32-bit integer columns; a larger number from a form, a URL or JSON would make
# PostgreSQL raise (a 500) instead of simply finding nothing.
MAX_ID = 2**31 - 1
T = TypeVar("T")


def get_by_id(model: type[T], ident: object) -> T | None:
    """The row with this id, or None for a missing row and for any id no row can have."""
    if not isinstance(ident, int) or isinstance(ident, bool) or not 1 <= ident <= MAX_ID:
        return None
    return db.session.get(model, ident)
