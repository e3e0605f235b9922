"""Calls made at the same moment on threads of their own, as racing clients make them."""

from __future__ import annotations

import threading


def at_once(n: int, call) -> list:
    """`call()` on `n` threads released together; their results in thread order. The data they
    race on must be committed (`@pytest.mark.committed`): each thread has its own connection."""
    results: list = [None] * n
    barrier = threading.Barrier(n)

    def run(i: int) -> None:
        barrier.wait()
        results[i] = call()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results
