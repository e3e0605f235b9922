"""Schemathesis fuzzes every operation of /api/v1/openapi.json with valid keys: no answer is
a 5xx, and each has a documented status code, content type and body (tests/support/fuzz.py).
`bench/api_fuzz.py` runs the same with many more examples."""

from __future__ import annotations

import pytest

from tests.support import fuzz

# Enough to get past validation into every handler while keeping the whole run near half a
# minute on a 2-core machine.
MAX_EXAMPLES = 15


@pytest.fixture
def keys(db) -> dict[str, str]:
    return fuzz.seed()


@pytest.mark.slow
@pytest.mark.parametrize("operation", fuzz.operations())
def test_every_operation_answers_as_documented(app, keys, operation):
    run = fuzz.fuzz(app, keys, operation, max_examples=MAX_EXAMPLES)
    assert run.calls > 0
