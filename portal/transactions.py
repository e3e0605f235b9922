"""Work tied to the end of a database transaction: `after_commit(fn)`, `after_rollback(fn)` and
`transaction_local(name)`, backed by one pair of session listeners.

Why one place: committing a change and acting on it (handing messages to the queue, deleting a
replaced file, forgetting a cached read) must agree on what "the transaction ended" means. A
savepoint released or rolled back (each outbox row has one) is not the end; only the outermost
transaction is. Callbacks run in the order they were registered; one that raises is logged and
does not stop the others, because the commit has already happened (or the rollback must still
tidy up).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from portal.extensions import db

log = logging.getLogger(__name__)

_COMMIT = "lastmile.after_commit"
_ROLLBACK = "lastmile.after_rollback"
_LOCALS = "lastmile.transaction_locals"


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
