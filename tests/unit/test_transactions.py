"""after_commit, after_rollback, transaction_local: only the outermost transaction's end counts."""

from __future__ import annotations

from sqlalchemy import text

from portal.transactions import after_commit, after_rollback, transaction_local


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
