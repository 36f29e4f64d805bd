"""The quarantine: copies of raw input that could not be transformed, with the reason.

    quarantine/<run_id>/reason.json       the run, its manifest and every problem found
    quarantine/<run_id>/<raw key>         a copy of each offending object that exists

raw/ itself is never modified. A run transformed later after all (its missing part landed,
or the transform was fixed) gets `lifted_at` in its reason and counts again.
"""

from __future__ import annotations

from collections.abc import Iterable

from chalicelib.errors import NotFoundError
from chalicelib.lake import Lake, get_json, put_json
from chalicelib.transform.read import Problem

QUARANTINE = "quarantine/"
REASON = "reason.json"


def quarantine_prefix(run_id: str) -> str:
    return f"{QUARANTINE}{run_id}/"


def is_quarantined(lake: Lake, run_id: str) -> bool:
    """Whether the run is in quarantine (and was not transformed since, say after a fix)."""
    key = f"{quarantine_prefix(run_id)}{REASON}"
    return lake.exists(key) and not get_json(lake, key).get("lifted_at")


def lift(lake: Lake, run_id: str, lifted_at: str) -> None:
    """Mark a quarantined run as transformed after all; its copies stay for the record."""
    key = f"{quarantine_prefix(run_id)}{REASON}"
    if lake.exists(key):
        reason = get_json(lake, key)
        if not reason.get("lifted_at"):
            put_json(lake, key, {**reason, "lifted_at": lifted_at})


def quarantine(
    lake: Lake, run_id: str, manifest_key: str, problems: Iterable[Problem], quarantined_at: str
) -> str:
    """Copy the manifest and the offending objects, then write the reason; the prefix."""
    problems = list(problems)
    prefix = quarantine_prefix(run_id)
    for key in dict.fromkeys([manifest_key, *(problem.key for problem in problems)]):
        try:
            lake.put(f"{prefix}{key}", lake.get(key))
        except NotFoundError:
            continue
    reason = {
        "run_id": run_id,
        "manifest": manifest_key,
        "quarantined_at": quarantined_at,
        "problems": [{"key": p.key, "reason": p.reason} for p in problems],
    }
    put_json(lake, f"{prefix}{REASON}", reason)
    return prefix
