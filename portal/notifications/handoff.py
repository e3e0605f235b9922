"""Getting committed rows to a sender: the RQ queue on Redis (or a thread of this process when
there is no Redis), the hand-off after each commit, and the sweeper that hands over again what
went astray.

A request never waits on Redis: the hand-off after its commit only puts the rows' ids on a
bounded backlog, and one thread per process takes them to the queue. Losing a hand-off (the
backlog full, the process gone before the thread got to it, Redis down) costs a delay, not a
message: the rows are in the outbox table, and the sweeper hands over whatever has not gone.
"""

from __future__ import annotations

import atexit
import contextvars
import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from queue import Full
from queue import Queue as Backlog

from flask import current_app, g, has_request_context
from redis import Redis
from rq import Queue
from sqlalchemy import or_, select, update

from portal import logs
from portal.extensions import db
from portal.models import Notification, NotificationState
from portal.models.types import utcnow
from portal.notifications.dispatch import send_and_close
from portal.redis_clients import new_redis_client, redis_client

log = logging.getLogger(__name__)
Q = NotificationState
# A row handed to the queue that is still queued after this long is handed over again.
REQUEUE_AFTER = timedelta(seconds=60)
BATCH = 50
# Hand-offs waiting for the thread; past this many (Redis stalled), they are left to the sweeper.
BACKLOG = 1000
# The queue's Redis: seconds to connect, and to wait for each command.
_CONNECT_TIMEOUT, _TIMEOUT = 2, 5
# The RQ job (a dotted path that must stay valid while jobs of an older release are queued).
SEND_JOB = "portal.notifications.dispatch.send_job"

_executor: ThreadPoolExecutor | None = None


def redis_connection() -> Redis:
    """A client for an RQ worker, its own: the worker lengthens its socket timeout to outwait
    its blocking wait for jobs, which the hand-off's shared client must not get."""
    url = current_app.config["REDIS_URL"]
    return new_redis_client(url, connect_timeout=_CONNECT_TIMEOUT, timeout=_TIMEOUT)


def queue() -> Queue:
    """The outbox's RQ queue on the process's shared client (as the hand-off uses it)."""
    url = current_app.config["REDIS_URL"]
    connection = redis_client(url, connect_timeout=_CONNECT_TIMEOUT, timeout=_TIMEOUT)
    return Queue(current_app.config["RQ_QUEUE"], connection=connection)


def hand_off(ids: list[int]) -> None:
    """After a commit (services/messages calls this, see portal/notifications/__init__.py):
    the rows go to the queue from a thread of their own, so the request does not wait."""
    config = current_app.config
    if not config.get("REDIS_URL"):
        _in_process(ids)
        return
    handoff = (config["REDIS_URL"], config["RQ_QUEUE"], list(ids), logs.request_id.get())
    if not has_request_context():
        # A worker's job or a command: nobody waits on it, and a plain `rq worker` runs each
        # job in a forked child that exits as soon as the job ends, backlog and thread with it.
        _enqueue(*handoff)
        return
    _courier.submit(handoff)


def dispatch(ids: list[int]) -> None:
    """Hand rows to the queue now (RQ with Redis, a thread without): the sweeper calls this.
    Never raises: a row that could not be handed over stays queued for the sweeper."""
    config = current_app.config
    if not config.get("REDIS_URL"):
        _in_process(ids)
        return
    _enqueue(config["REDIS_URL"], config["RQ_QUEUE"], ids, logs.request_id.get())


def _enqueue(url: str, name: str, ids: list[int], request_id: str | None) -> None:
    try:
        # Jobs of up to BATCH rows, queued in one round trip: RQ's bookkeeping per job costs
        # more than sending one SMS. The claim still checks every row's own state, and each
        # row's "sent" is committed on its own. The request that queued the rows travels
        # with the job into the worker's log lines.
        jobs = [
            Queue.prepare_data(
                SEND_JOB,
                args=(ids[i : i + BATCH],),
                result_ttl=0,
                failure_ttl=24 * 3600,
                meta={"request_id": request_id} if request_id else None,
            )
            for i in range(0, len(ids), BATCH)
        ]
        connection = redis_client(url, connect_timeout=_CONNECT_TIMEOUT, timeout=_TIMEOUT)
        Queue(name, connection=connection).enqueue_many(jobs)
    except Exception as exc:  # Redis down: the rows are safe in the outbox
        log.warning("queue unavailable, %d message(s) left for the sweeper: %s", len(ids), exc)


# One hand-off for the thread: Redis URL, queue name, row ids, the committing request's id.
_HandOff = tuple[str, str, list[int], str | None]


class _Courier:
    """One thread per process taking committed rows to Redis, started on first use (and again
    in a forked child, which does not inherit its parent's threads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._backlog: Backlog[_HandOff] | None = None
        self._pid: int | None = None

    def submit(self, handoff: _HandOff) -> None:
        try:
            self._started().put_nowait(handoff)
        except Full:
            count = len(handoff[2])
            log.warning("hand-off backlog full, %d message(s) left for the sweeper", count)

    def wait(self, timeout: float | None = None) -> bool:
        """Until every hand-off submitted so far has been made (or has failed), or `timeout`
        seconds have passed; whether they all were."""
        with self._lock:
            backlog = self._backlog if self._pid == os.getpid() else None
        if backlog is None:
            return True
        if timeout is None:
            backlog.join()
            return True
        with backlog.all_tasks_done:  # Queue.join() with a deadline
            return backlog.all_tasks_done.wait_for(lambda: not backlog.unfinished_tasks, timeout)

    def report_left(self) -> None:
        """At exit: what the thread did not get to (a daemon thread just stops) is logged."""
        with self._lock:
            backlog = self._backlog if self._pid == os.getpid() else None
        if backlog is not None and backlog.unfinished_tasks:
            log.warning(
                "exiting with %d hand-off(s) not made: the sweeper sends their messages",
                backlog.unfinished_tasks,
            )

    def _started(self) -> Backlog[_HandOff]:
        with self._lock:
            if self._backlog is None or self._pid != os.getpid():
                self._backlog, self._pid = Backlog(maxsize=BACKLOG), os.getpid()
                threading.Thread(
                    target=self._run, args=(self._backlog,), name="outbox-handoff", daemon=True
                ).start()
            return self._backlog

    @staticmethod
    def _run(backlog: Backlog[_HandOff]) -> None:
        while True:
            handoff = backlog.get()
            try:
                _enqueue(*handoff)
            except Exception:  # never the thread's end: the next hand-off may well succeed
                log.exception("handing over %d message(s) failed", len(handoff[2]))
            finally:
                backlog.task_done()


_courier = _Courier()
atexit.register(_courier.report_left)


def _in_process(ids: list[int]) -> None:
    """The embedded default: send on a background thread of this process (no Redis needed)."""
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="outbox")
    app = current_app._get_current_object()
    rid = logs.request_id.get()

    def run() -> None:
        # The thread's log lines carry the request's id, and nothing else of the request's
        # context: the request (and its app context) is torn down while the thread still runs.
        logs.request_id.set(rid)
        with app.app_context():
            g.sqlite_writer = True  # see extensions._reading_only
            send_and_close(ids)

    # A fresh, empty context per job: copy_context() would carry Flask's request and app
    # context variables into the thread; and what `run` sets ends with it.
    _executor.submit(contextvars.Context().run, run)


def finish_handoffs(timeout: float) -> bool:
    """Give this process's pending hand-offs up to `timeout` seconds (a web worker about to
    exit: gunicorn's worker_exit); what is left is logged at exit and sent by the sweeper."""
    return _courier.wait(timeout)


def drain() -> None:
    """Wait until this process's hand-offs are made and its in-process sends are done
    (commands call this before they exit; tests before they run a worker)."""
    global _executor
    _courier.wait()
    if _executor is not None:
        _executor.shutdown(wait=True)
        _executor = None


def sweep(now: datetime | None = None, limit: int = 1000) -> int:
    """Hand over rows that are due and not in anyone's hands: deferred by quiet hours or backoff,
    left behind by a Redis outage, or held by a worker that died. Returns how many."""
    now = now or utcnow()
    ids = list(
        db.session.execute(
            select(Notification.id)
            .where(
                Notification.state == Q.QUEUED,
                or_(Notification.not_before.is_(None), Notification.not_before <= now),
                or_(Notification.claimed_until.is_(None), Notification.claimed_until < now),
                or_(
                    # Became due (quiet hours, backoff) since anyone last touched it …
                    Notification.updated_at < Notification.not_before,
                    # … or handed over a while ago and still not sent.
                    Notification.updated_at < now - REQUEUE_AFTER,
                ),
            )
            .order_by(Notification.id)
            .limit(limit)
        ).scalars()
    )
    db.session.rollback()
    if ids:
        # Mark them so the next sweep waits REQUEUE_AFTER before handing them over again.
        db.session.execute(
            update(Notification)
            .where(Notification.id.in_(ids))
            .values(updated_at=now)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        dispatch(ids)
    return len(ids)
