"""One test, one database transaction, rolled back at the end.

While a test runs, every session the app opens (the test's own, each request's in
`IsolatedClient`, a command's, a worker's run in a context of its own) is bound to one connection
holding one outer transaction, and joins it with a savepoint (SQLAlchemy's
`join_transaction_mode="create_savepoint"`): the app's `commit()` releases its savepoint and runs
its after-commit work as usual, its `rollback()` rolls back to it, and the end of the test rolls
everything back. Nothing reaches the disk and nothing is left to delete.

What it cannot stand in for is another thread or process seeing the data: a live server, a
worker thread, two requests racing, two workers whose transactions overlap. Tests that need that
are marked `committed`; they commit for real and the tables are emptied afterwards. A test not so
marked that uses the database from another thread, opens a second connection, or lets two
contexts' transactions overlap fails, naming the marker, instead of passing on data that no
other process would have seen.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, current_app
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.pool import Pool

HINT = "mark the test @pytest.mark.committed (it needs data other connections can see)"


class _Shared:
    """The connection of the test under way (None: sessions use the engine as in production)."""

    app: Flask | None = None
    connection: Connection | None = None
    thread: int | None = None
    test_session: Session | None = None
    open: list[Session] = []  # sessions holding a savepoint on the connection, outermost first
    problems: list[str] = []


def _problem(message: str) -> RuntimeError:
    _Shared.problems.append(message)
    return RuntimeError(f"{message}: {HINT}")


def bind_sessions_to_the_test(db: SQLAlchemy) -> None:
    """Once per app: its sessions take the test's connection while a test shares one."""
    factory = db.session.session_factory

    class OneConnectionSession(factory.class_):
        def get_bind(self, *args, **kwargs):
            if _Shared.connection is None or current_app._get_current_object() is not _Shared.app:
                return super().get_bind(*args, **kwargs)
            if threading.get_ident() != _Shared.thread:
                raise _problem("the database was used from another thread")
            if self not in _Shared.open:
                _make_way_for(self)
            return _Shared.connection

        def connection(self, bind_arguments=None, execution_options=None):
            # A view's `read_only` asks for an autocommit connection; the test's one stays in
            # its transaction (a read-only view reads the same in one).
            shared = _Shared.connection is not None and _Shared.app is not None
            if shared and current_app._get_current_object() is _Shared.app and execution_options:
                execution_options = {
                    k: v for k, v in execution_options.items() if k != "isolation_level"
                }
            return super().connection(bind_arguments, execution_options or None)

    factory.class_ = OneConnectionSession
    factory.configure(join_transaction_mode="create_savepoint")


def _make_way_for(session: Session) -> None:
    """`session` is about to open a savepoint. Savepoints nest, so one context's transaction must
    not start inside another's: a rollback of the outer one would undo the inner one's commit.

    The test's own session, if it only read, is rolled back first: in production its snapshot
    would not show the other context's commit either, and the test reads afresh afterwards. If
    it wrote without committing, or another context's transaction is still open (two workers at
    once), the test needs real transactions."""
    for other in reversed(list(_Shared.open)):
        if other is not _Shared.test_session:
            raise _problem("two contexts' transactions overlapped, as two processes' would")
        if other.new or other.dirty or other.deleted or other.info.get("tests.flushed"):
            raise _problem("another context began while the test had written without committing")
        other.rollback()


@event.listens_for(Session, "after_begin")
def _began(session: Session, transaction: SessionTransaction, connection: Connection) -> None:
    if connection is _Shared.connection and transaction.parent is None:
        _Shared.open.append(session)


@event.listens_for(Session, "after_flush")
def _flushed(session: Session, flush_context) -> None:
    if session is _Shared.test_session:
        session.info["tests.flushed"] = True


@event.listens_for(Session, "after_transaction_end")
def _ended(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None and session in _Shared.open:
        _Shared.open.remove(session)
        session.info.pop("tests.flushed", None)


@event.listens_for(Pool, "checkout")
def _second_connection(dbapi_connection, record, proxy) -> None:
    if _Shared.connection is not None:
        raise _problem("a second database connection was opened")


@contextmanager
def one_transaction(app: Flask, db: SQLAlchemy) -> Iterator[list[str]]:
    """Inside an app context: the test's connection, its outer transaction, its session bound
    to it. Yields the problems found (empty if the test kept to one connection)."""
    connection = db.engine.connect()
    outer = connection.begin()
    _Shared.app, _Shared.connection, _Shared.thread = app, connection, threading.get_ident()
    _Shared.open, _Shared.problems = [], []
    _Shared.test_session = db.session()
    try:
        yield _Shared.problems
    finally:
        db.session.remove()
        _Shared.app = _Shared.connection = _Shared.thread = _Shared.test_session = None
        _Shared.open = []
        outer.rollback()
        connection.close()


def sharing_one_connection() -> bool:
    return _Shared.connection is not None
