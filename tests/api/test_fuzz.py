"""Schemathesis against `chalice local` over the demo's lake: thousands of generated requests,
valid and not, each answered without a 5xx and as docs/openapi.yaml describes."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import requests
import schemathesis
import yaml
from hypothesis import HealthCheck, settings
from schemathesis import checks

pytestmark = pytest.mark.integration  # thousands of generated requests

PROJECT = Path(__file__).resolve().parents[2]


def without_api_keys(description: dict) -> dict:
    """The description as chalice local serves it: no operation asks for an API key."""
    description.pop("security", None)
    for operations in description["paths"].values():
        for operation in operations.values():
            operation.pop("security", None)
    return description


DESCRIPTION = yaml.safe_load((PROJECT / "docs" / "openapi.yaml").read_text())
SCHEMA = schemathesis.openapi.from_dict(without_api_keys(DESCRIPTION))
# POST /runs runs a whole extract (tests/test_app.py covers it); the dashboard and the year in
# review run a dozen queries per page, so they get fewer examples than the quick routes.
PAGES = ["/dashboard", "/recap/{year}", "/view/recap/{year}"]
QUICK = SCHEMA.exclude(path=PAGES).exclude(method="POST", path="/runs")
DASHBOARD = SCHEMA.include(path=PAGES)
# http.server under chalice local answers 501 itself to methods it has no handler for
# (TRACE, QUERY...); API Gateway answers those, so they are not sent here.
LOCAL_METHODS = {"GET", "PUT", "POST", "HEAD", "DELETE", "PATCH", "OPTIONS"}
# A schema-valid request may still be refused with a 400: start_date after end_date, a
# parameter the named query does not take, a next_token this API never gave out.
NOT_CHECKED = [checks.positive_data_acceptance]
SETTINGS = {"deadline": None, "suppress_health_check": list(HealthCheck), "derandomize": True}


def call(case, base_url: str, session: requests.Session, sent: Counter[str]) -> None:
    if case.method not in LOCAL_METHODS:
        return
    response = case.call_and_validate(
        base_url=base_url, session=session, excluded_checks=NOT_CHECKED
    )
    sent[f"{case.method} {case.path}"] += 1
    assert response.status_code < 500, response.text


@QUICK.parametrize()
@settings(max_examples=400, **SETTINGS)
def test_every_quick_route_answers_as_described_for_any_request(case, server, http, fuzz_requests):
    call(case, server, http, fuzz_requests)


@DASHBOARD.parametrize()
@settings(max_examples=8, **SETTINGS)
def test_the_pages_answer_as_described_for_any_period_or_year(case, server, http, fuzz_requests):
    call(case, server, http, fuzz_requests)
