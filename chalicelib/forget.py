"""Forgetting an account: every object the lake holds of it, raw answers included, listed by
its prefixes (chalicelib.accounts) and removed, then its entry in the lake's register. The
other accounts' objects are under other prefixes and are never listed. `spotify-etl forget`
removes the account's refresh token first, so that no new run of it starts meanwhile."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from chalicelib.accounts import (
    ACCOUNT,
    PROCESSED,
    SCOPED,
    check_account_id,
    scoped_key,
    unregister,
)
from chalicelib.lake import FORGET, Lake
from chalicelib.schema import TABLES


@dataclass
class Removed:
    """How many objects were removed, per top folder (`processed/plays`, `raw`, …)."""

    by_folder: dict[str, int] = field(default_factory=dict)


def prefixes_of(account: str) -> list[str]:
    """Every prefix under which the lake keeps the account's objects."""
    check_account_id(account)
    tables = [scoped_key(f"{PROCESSED}/{name}/", account) for name in TABLES]
    return [*tables, *(scoped_key(f"{folder}/", account) for folder in SCOPED)]


def objects_of(lake: Lake, account: str) -> list[str]:
    """Every object of the account, by prefix."""
    return [key for prefix in prefixes_of(account) for key in lake.list(prefix)]


def forget(
    lake: Lake, account: str, *, progress: Callable[[str], None] | None = None
) -> Removed:
    """Remove every object of the account, then its entry in the register; what it removed.
    Stopped anywhere, it can run again: what is left is listed again."""
    removed = Removed()
    for prefix in prefixes_of(account):
        folder = prefix.split(f"/{ACCOUNT}=", 1)[0]
        for key in list(lake.list(prefix)):
            lake.delete(key, FORGET)
            removed.by_folder[folder] = removed.by_folder.get(folder, 0) + 1
            if progress:
                progress(key)
    unregister(lake, account)
    return removed
