"""The app's own Redis clients: one per URL and timeouts, reused, and back after Redis drops
their connection (a restart), so a pooled connection never turns into a false alarm."""

from __future__ import annotations

from portal.notifications.handoff import queue, redis_connection
from portal.notifications.worker import Worker
from portal.redis_clients import redis_client


def test_each_url_and_timeouts_get_one_client_kept_for_the_process(app):
    url = app.config["REDIS_URL"]
    quick = redis_client(url, connect_timeout=1, timeout=3)
    assert redis_client(url, connect_timeout=1, timeout=3) is quick
    patient = redis_client(url, connect_timeout=2, timeout=7)
    assert patient is not quick
    kwargs = patient.connection_pool.connection_kwargs
    assert (kwargs["socket_connect_timeout"], kwargs["socket_timeout"]) == (2, 7)


def test_a_connection_redis_dropped_is_replaced_on_the_next_command(app, client, redis_queue):
    assert client.get("/readyz").json["redis"] == "ok"
    probe = redis_client(app.config["REDIS_URL"], connect_timeout=1.0, timeout=1.0)
    first = probe.client_id()
    # Redis restarted, or its `timeout` setting closed an idle connection: the socket in the
    # pool is dead, and the next probe still answers.
    assert redis_queue.client_kill_filter(_id=first) == 1
    assert client.get("/readyz").json["redis"] == "ok"
    assert probe.client_id() != first


def test_a_worker_lengthening_its_timeout_leaves_the_hand_off_its_own(app):
    # RQ's Worker raises the socket timeout of the client it is given past its blocking wait
    # for jobs (minutes): the queue a request hands its messages to must keep its 5 s.
    worker = Worker([queue()], connection=redis_connection())
    assert worker.connection.connection_pool.connection_kwargs["socket_timeout"] > 5
    assert queue().connection.connection_pool.connection_kwargs["socket_timeout"] == 5
