"""A run's outcome as CloudWatch metrics, in Embedded Metric Format: one JSON line on
standard output, which Lambda sends to the function's log group and CloudWatch turns into
metrics, with no API call and no extra permission. glue/setup.py's alarms watch them.

Each line is one run of one function: the dimension `Function` is its deployed name (so
stages never mix), the metrics are its outcome as 0 or 1 (`RunsSucceeded`, `RunsPartial`,
`RunsFailed`, `RunsIncomplete` for either of the last two, `RunsSkipped` for an extract that
found another holding the lease), the Spotify `Requests` and
`RateLimited` answers (429s) of an extract, and for a transform the rows it wrote and
whether it quarantined the run. The run's ID, kind, status and counts ride along as
properties, searchable in CloudWatch Logs Insights.

A run of an account (its record says whose) also logs `RunsIncomplete` by `Function` and
`Account` (the Spotify user ID), which glue/setup.py's alarm of each account watches: one
listener's failed runs are seen even while the others' succeed. Only that metric is split by
account, as each metric of each dimension set is a custom metric CloudWatch bills monthly.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Mapping
from typing import Any

NAMESPACE = "spotify-etl"
BY_ACCOUNT = ("RunsIncomplete",)  # the metrics also logged by Function and Account
SUCCEEDED, PARTIAL, FAILED, SKIPPED = "succeeded", "partial", "failed", "skipped"
OUTCOMES = {
    "extracted": SUCCEEDED,
    "transformed": SUCCEEDED,
    "partial": PARTIAL,
    "skipped": SKIPPED,
}


def outcome_of(status: str) -> str:
    """succeeded, partial, failed or skipped, for a run record's or a transform's status."""
    return OUTCOMES.get(status, FAILED)


def run_metrics(function: str, record: Mapping[str, Any]) -> dict[str, Any]:
    """The EMF document of one run record (an extract's or an import's)."""
    counts = record.get("counts") or {}
    values = {
        **_outcome(outcome_of(str(record.get("status")))),
        "Requests": counts.get("requests", 0),
        "RateLimited": counts.get("rate_limited", 0),
    }
    properties = {key: record.get(key) for key in ("run_id", "kind", "status")}
    account = record.get("account")
    return document(function, values, {**properties, "counts": counts}, account=account)


def transform_metrics(function: str, outcome: Mapping[str, Any]) -> dict[str, Any]:
    """The EMF document of one transform (what pipeline.transform or replay answers)."""
    rows = outcome.get("rows") or {}
    status = str(outcome.get("status"))
    values = {
        **_outcome(outcome_of(status)),
        "RowsWritten": sum(v for v in rows.values() if isinstance(v, int)),
        "Quarantined": int("quarantine" in outcome),
    }
    properties = {"run_id": outcome.get("run_id"), "status": status, "rows": rows}
    return document(function, values, properties)


def failed_metrics(function: str, error: str, account: str | None = None) -> dict[str, Any]:
    """The EMF document of a run (of `account`, where known) that failed before it had a
    record to say so."""
    properties = {"status": FAILED, "error": error}
    return document(function, _outcome(FAILED), properties, account=account)


def document(
    function: str,
    values: Mapping[str, int],
    properties: Mapping[str, Any],
    *,
    account: str | None = None,
) -> dict:
    """The EMF document of `values` by Function and, for a run of an account, BY_ACCOUNT's
    of them by Function and Account as well."""
    directives = [_directive(["Function"], list(values))]
    by_account = [name for name in BY_ACCOUNT if name in values]
    if account is not None and by_account:
        directives.append(_directive(["Function", "Account"], by_account))
    return {
        "_aws": {"Timestamp": int(time.time() * 1000), "CloudWatchMetrics": directives},
        "Function": function,
        **({"Account": account} if account is not None else {}),
        **values,
        **properties,
    }


def _directive(dimensions: list[str], names: list[str]) -> dict[str, Any]:
    return {
        "Namespace": NAMESPACE,
        "Dimensions": [dimensions],
        "Metrics": [{"Name": name, "Unit": "Count"} for name in names],
    }


def emit(document: Mapping[str, Any]) -> None:
    """Write the document as one line to standard output (Lambda's log)."""
    print(json.dumps(document, default=str, separators=(",", ":")), file=sys.stdout)


def _outcome(outcome: str) -> dict[str, int]:
    return {
        "RunsSucceeded": int(outcome == SUCCEEDED),
        "RunsPartial": int(outcome == PARTIAL),
        "RunsFailed": int(outcome == FAILED),
        "RunsSkipped": int(outcome == SKIPPED),
        "RunsIncomplete": int(outcome in (PARTIAL, FAILED)),
    }
