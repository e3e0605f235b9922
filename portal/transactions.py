"""Work tied to the end of a database transaction: `after_commit(fn)`, `after_rollback(fn)` and
`transaction_local(name)`, backed by one pair of session listeners; and `read_only`, the views
whose reads need no transaction at all.

Why one place: committing a change and acting on it (handing messages to the queue, deleting a
replaced file, forgetting a cached read) must agree on what "the transaction ended" means. A
savepoint released or rolled back (each outbox row has one) is not the end; only the outermost
transaction is. Callbacks run in the order they were registered; one that raises is logged and
does not stop the others, because the commit has already happened (or the rollback must still
tidy up).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction

from portal.extensions import db

log = logging.getLogger(__name__)

_COMMIT = "lastmile.after_commit"
_ROLLBACK = "lastmile.after_rollback"
_LOCALS = "lastmile.transaction_locals"
_READ_ONLY = "lastmile.read_only"
F = TypeVar("F", bound=Callable[..., Any])


def _session(session: Session | None) -> Session:
    # db.session is a scoped_session proxy; its `info` is the current session's.
    return session if session is not None else db.session


def after_commit(fn: Callable[[], Any], *, session: Session | None = None) -> None:
    """Run `fn` once the current outermost transaction has committed (never on a rollback)."""
    _session(session).info.setdefault(_COMMIT, []).append(fn)


def after_rollback(fn: Callable[[], Any], *, session: Session | None = None) -> None:
    """Run `fn` if the current outermost transaction ends without a commit (a rollback, an
    error, the session closed)."""
    _session(session).info.setdefault(_ROLLBACK, []).append(fn)


def transaction_local(
    name: str, factory: Callable[[], Any] = list, *, session: Session | None = None
) -> Any:
    """A value that lives until the outermost transaction ends, made by `factory` on first use:
    rows to hand over after the commit, a read cached for this transaction only."""
    values = _session(session).info.setdefault(_LOCALS, {})
    if name not in values:
        values[name] = factory()
    return values[name]


def _run(callbacks: list[Callable[[], Any]], when: str) -> None:
    for fn in callbacks:
        try:
            fn()
        except Exception:
            log.exception("a callback %s failed", when)


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    outer = session.get_transaction()
    if outer is not None and outer.is_active:  # a savepoint released; the transaction goes on
        return
    session.info.pop(_ROLLBACK, None)
    session.info.pop(_LOCALS, None)
    _run(session.info.pop(_COMMIT, []), "after commit")


@event.listens_for(Session, "after_transaction_end")
def _ended(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is not None or transaction.nested:
        return
    # Still here after the outermost transaction: it ended without a commit.
    session.info.pop(_COMMIT, None)
    session.info.pop(_LOCALS, None)
    _run(session.info.pop(_ROLLBACK, []), "after rollback")


def reading_connection() -> Connection:
    """The session's connection for a request that only reads: on PostgreSQL, if the session
    has not begun yet, one in autocommit, so psycopg sends no BEGIN before the first statement
    and the pool no ROLLBACK after the last, two waits on the server fewer per request (issue
    17), and psycopg keeps the statements it prepared (a ROLLBACK throws them away). Nothing is
    lost by it: under READ COMMITTED every statement reads a snapshot of its own, in a
    transaction or not. On SQLite (the embedded default) nothing changes: its BEGIN costs no
    round trip. Raises as the session would when the database cannot be reached."""
    session = db.session()
    if not session.in_transaction() and db.engine.dialect.name == "postgresql":
        return session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    return session.connection()


def read_only(view: F) -> F:
    """A view that only reads (the busiest: the parcel page and its poll, the API's parcel):
    its statements run on `reading_connection()`. The view may not write: an ORM flush or an
    INSERT, UPDATE or DELETE through the session raises, instead of committing statement by
    statement. A database that cannot be reached is the view's error (errors.py answers 503),
    met once, before the view runs."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        reading_connection()
        session = db.session()
        before = session.info.get(_READ_ONLY, False)
        session.info[_READ_ONLY] = True
        try:
            return view(*args, **kwargs)
        finally:
            session.info[_READ_ONLY] = before

    return wrapper  # type: ignore[return-value]


def _refuse(session: Session) -> None:
    if session.info.get(_READ_ONLY):
        raise RuntimeError("a view marked read_only tried to write")


@event.listens_for(Session, "before_flush")
def _no_flush_when_read_only(session: Session, flush_context, instances) -> None:
    _refuse(session)


@event.listens_for(Session, "do_orm_execute")
def _no_dml_when_read_only(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        _refuse(state.session)
