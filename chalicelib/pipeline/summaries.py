"""The lake's accounts as `spotify-etl accounts` and `GET /accounts` list them: each one's ID,
display name, plays, first and last play and its newest run, read from the register, each
account's plays summary and its newest run record: a few small objects per account, however
long the lake has run."""

from __future__ import annotations

from typing import Any

from chalicelib import accounts
from chalicelib.accounts import AccountLake
from chalicelib.lake import Lake
from chalicelib.runs import RunStore
from chalicelib.transform import summary


def account_summaries(lake: Lake) -> list[dict[str, Any]]:
    """One entry per account of the lake, in ID order."""
    listed = []
    for account, about in accounts.registered(lake).items():
        scoped = AccountLake(lake, account)
        newest = RunStore(scoped).recent(1)
        last_run = newest[0] if newest else None
        listed.append(
            {
                "account": account,
                "display_name": about.get("display_name"),
                **summary.totals(scoped),
                "last_run": last_run.run_id if last_run else None,
                "last_run_status": last_run.status.value if last_run else None,
            }
        )
    return listed
