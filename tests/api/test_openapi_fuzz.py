"""Schemathesis against the served OpenAPI document: no 5xx, no response that breaks its schema.

Every operation gets a bounded number of generated cases so CI stays fast. The
operations are driven from here (not through schemathesis' pytest plugin) so
the schema can be loaded from the session's live server. Schema-valid requests
may still be refused with a 422 (an expression that does not parse, a start
outside the surface's box): JSON Schema cannot say those rules, so the
"positive data accepted" check is left out; every other check runs.
"""

import signal
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import positive_data_acceptance

from tests.conftest import Server, free_port

MAX_EXAMPLES = 25


def check_operation(operation: Any) -> None:
    @given(case=operation.as_strategy())
    @settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck),
              database=None)
    def generated(case: Any) -> None:
        case.call_and_validate(excluded_checks=[positive_data_acceptance])

    generated()


@pytest.fixture(scope="module")
def fuzzed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server of its own: the runs the fuzzer queues must not crowd the other tests."""
    server = Server(tmp_path_factory.mktemp("fuzz"), free_port(),
                    env={"DESCENT_RUNS_PER_CLIENT": "1000", "DESCENT_QUEUED_RUNS": "1000"})
    server.start()
    try:
        yield server
    finally:
        server.stop(signal.SIGKILL)


def test_no_server_errors_and_responses_match_the_schema(fuzzed_server: Server) -> None:
    schema = schemathesis.openapi.from_url(f"{fuzzed_server.url}/openapi.json")
    checked = []
    for result in schema.get_all_operations():
        operation = result.ok()
        check_operation(operation)
        checked.append(operation.label)
    assert "POST /api/runs" in checked and "GET /api/runs/{run_id}/steps" in checked
