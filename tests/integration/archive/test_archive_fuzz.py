"""The API fuzzed from its own OpenAPI document: no input, valid or not, gets a 5xx, and
every answer matches what the document promises. Bounded: a fixed number of examples
per operation and mode (about half a minute in all)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.integration.archive import connect_sim
from tests.integration.archive.conftest import API_PASSWORD, API_USER

pytestmark = pytest.mark.slow

EXAMPLES_PER_OPERATION = 60
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_the_api_never_answers_5xx_and_keeps_its_contract(api, runtime, mode):
    with runtime.engine.begin() as conn:
        connect_sim.sync_from_salesforce(conn, "amer_sf", "contact", 5)
    schema = schemathesis.openapi.from_url(f"{api.url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 4

    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def fuzz(case) -> None:
            response = case.call(base_url=api.url, auth=(API_USER, API_PASSWORD), timeout=30)
            case.validate_response(response, checks=CHECKS)

        fuzz()
