"""Moving a lake written before accounts existed under its account: `spotify-etl migrate`.

Every object of that layout (`raw/2026-11-26/…`, `processed/plays/played_month=2026-11/…`,
`runs/…`, `state/…`, `quarantine/…`, `imports/…`) is copied to its account's key
(chalicelib.accounts) and then removed, one at a time, so a migration stopped anywhere
loses nothing and runs again from where it stopped; the app's own objects (the extract
lease, the register, the local engine's executions) stay where they are. Whose lake it is,
the newest `GET /me` answer in raw/ says (an import-only lake has none: the caller names
the account); a migration once begun notes whose it is (`state/migration.json`), so that
one stopped after moving that answer goes on for the same account. The account is
registered last: until then the lake is read as one of the earlier layout, which every
command refuses, saying to run `migrate`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from chalicelib import raw
from chalicelib.accounts import (
    ACCOUNT,
    PROCESSED,
    REGISTER,
    SCOPED,
    check_account_id,
    register,
    scoped_key,
)
from chalicelib.errors import ConflictError, LakeError, ValidationError
from chalicelib.lake import MOVED, Lake, get_json, put_json

LEASE = "state/extract-lease.json"
EXECUTIONS = "state/executions/"
MIGRATION = "state/migration.json"  # {"account", "user"}: whose lake a migration moves


def earlier_keys(lake: Lake) -> Iterator[str]:
    """The objects of the layout before accounts, folder by folder."""
    # raw/ last: on S3 each manifest moved starts a transform, which then finds the state,
    # records and tables it reads already moved.
    for folder in (PROCESSED, *(name for name in SCOPED if name != raw.RAW), raw.RAW):
        at = 2 if folder == PROCESSED else 1
        for key in lake.list(f"{folder}/"):
            parts = key.split("/")
            if len(parts) > at and parts[at].startswith(f"{ACCOUNT}="):
                continue
            if key in (LEASE, REGISTER, MIGRATION) or key.startswith(EXECUTIONS):
                continue
            yield key


def account_of_lake(keys: list[str], lake: Lake) -> dict[str, str] | None:
    """The newest GET /me answer among the keys (the user ID and display name), if any."""
    me = f"/{raw.ME}.json.gz"
    answers = sorted(k for k in keys if k.startswith(f"{raw.RAW}/") and k.endswith(me))
    if not answers:
        return None
    user = get_json(lake, answers[-1])
    return {"id": user["id"], "display_name": user.get("display_name")}


def migrate_accounts(
    lake: Lake,
    account: str | None = None,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[str | None, int]:
    """Move every object of the layout before accounts under its account; (the account,
    how many objects moved), (None, 0) where there are none."""
    keys = list(earlier_keys(lake))
    if not keys:
        return None, 0
    marked = get_json(lake, MIGRATION) if lake.exists(MIGRATION) else {}
    begun = marked.get("account")
    user = marked.get("user") or account_of_lake(keys, lake)
    account = account or begun or (user or {}).get("id")
    if account is None:
        raise ValidationError(
            "this lake was written before accounts and holds no GET /me answer to tell whose "
            "it is: name the account with --account ID (its Spotify user ID)"
        )
    if begun not in (None, account):
        raise ValidationError(
            f"a migration of this lake under account {begun} was begun: run it again "
            f"without --account, or with --account {begun}"
        )
    check_account_id(account)
    put_json(lake, MIGRATION, {"account": account, "user": user})
    for done, key in enumerate(keys, 1):
        _move(lake, key, scoped_key(key, account))
        if progress:
            progress(done, len(keys))
    named = user if user is not None and user["id"] == account else {}
    register(lake, account, {"display_name": named.get("display_name")})
    return account, len(keys)


def _move(lake: Lake, key: str, target: str) -> None:
    """Copy one object to its account's key (unless a stopped migration did already), then
    remove it."""
    data = lake.get(key)
    try:
        lake.put(target, data, if_none_match=True)
    except ConflictError:
        if lake.get(target) != data:
            raise LakeError(
                f"{target} exists and differs from {key}, which it should be a copy of: "
                "nothing was removed; compare the two and remove the wrong one"
            ) from None
    lake.delete(key, MOVED)
