"""after_commit, after_rollback, transaction_local: only the outermost transaction's end counts;
read_only views may not write."""

from __future__ import annotations

import pytest
from sqlalchemy import text, update

from portal.models import Merchant
from portal.transactions import after_commit, after_rollback, read_only, transaction_local


def _track(calls: list[str]) -> None:
    after_commit(lambda: calls.append("commit"))
    after_rollback(lambda: calls.append("rollback"))


def test_commit_runs_commit_callbacks_only(db):
    calls: list[str] = []
    db.session.execute(text("SELECT 1"))
    _track(calls)
    db.session.commit()
    assert calls == ["commit"]
    db.session.commit()  # a later transaction does not run them again
    assert calls == ["commit"]


def test_rollback_runs_rollback_callbacks_only(db):
    calls: list[str] = []
    db.session.execute(text("SELECT 1"))
    _track(calls)
    db.session.rollback()
    assert calls == ["rollback"]


def test_a_savepoint_ending_is_not_the_end(db):
    calls: list[str] = []
    db.session.execute(text("SELECT 1"))
    _track(calls)
    with db.session.begin_nested():
        pass  # released
    savepoint = db.session.begin_nested()
    savepoint.rollback()
    assert calls == []
    db.session.commit()
    assert calls == ["commit"]


def test_a_failing_callback_does_not_stop_the_others(db):
    calls: list[str] = []
    db.session.execute(text("SELECT 1"))
    after_commit(lambda: 1 / 0)
    after_commit(lambda: calls.append("second"))
    db.session.commit()
    assert calls == ["second"]


def test_transaction_local_lives_until_the_outermost_end(db):
    db.session.execute(text("SELECT 1"))
    transaction_local("ids").append(1)
    with db.session.begin_nested():
        transaction_local("ids").append(2)
    assert transaction_local("ids") == [1, 2]
    db.session.rollback()
    assert transaction_local("ids") == []


def test_a_read_only_view_that_writes_is_stopped_before_anything_is_written(db):
    @read_only
    def view():
        db.session.add(Merchant(name="Written by a GET"))
        db.session.flush()

    @read_only
    def bulk_view():
        db.session.execute(update(Merchant).values(name="Renamed by a GET"))

    for writing in (view, bulk_view):
        with pytest.raises(RuntimeError, match="read_only"):
            writing()
        db.session.rollback()
    assert db.session.query(Merchant).filter_by(name="Written by a GET").count() == 0
    # Outside the view the session writes as ever.
    db.session.add(Merchant(name="Written later"))
    db.session.flush()
