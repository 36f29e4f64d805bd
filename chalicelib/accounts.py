"""Several listeners in one lake: each account's objects under its Spotify user ID.

An account is a Spotify user who authorized the app, named by the `id` of `GET /me`. Every
object of one account lives under `account_id=<id>`, the partition key Glue and Athena see:

    processed/<table>/account_id=<id>/<month key>=YYYY-MM/data.parquet
    raw/account_id=<id>/…   state/account_id=<id>/…   runs/account_id=<id>/…
    quarantine/account_id=<id>/…   imports/account_id=<id>/…

so that everything of one account is listed, and forgotten, by those prefixes. The pipeline
works on one account at a time through `AccountLake`, a view of the lake in which keys keep
the shape they had before accounts existed (`raw/2026-11-26/<run>/…`): the extract, the
transform, the run records and the state read and write through it unchanged.

What is the app's, not an account's, stays outside every account's prefix: the extract lease
(`state/extract-lease.json`), the local engine's query executions and the register of the
lake's accounts, `state/accounts.json` (`{"accounts": {"<id>": {"display_name", "added_at"}}}`),
which an extract, an import or `migrate` adds its account to, and `forget` removes it from.
A lake with no register but objects outside every account's prefix was written by a version
before accounts: it is read only once `spotify-etl migrate` moved it under its account.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import orjson

from chalicelib.errors import LakeError, NotFoundError, ValidationError, shown
from chalicelib.lake import UPLOAD, Lake, put_merging

ACCOUNT = "account_id"
PROCESSED = "processed"
SCOPED = ("raw", "state", "runs", "quarantine", "imports")  # an account's own folders
REGISTER = "state/accounts.json"
# Spotify user IDs: letters and digits for accounts made since 2015, older ones the username
# (letters, digits, `.`, `_`, `-`). Anything else could not name a folder safely.
ACCOUNT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
# What a lake of the layout before accounts needs before it is read.
EARLIER = "run `spotify-etl migrate` (it moves the lake under its account, losing nothing)"


class LegacyLakeError(LakeError):
    """The lake was written by a version before accounts; `migrate` must move it first."""


class AccountRequiredError(ValidationError):
    """The lake holds several accounts and the caller named none."""

    def __init__(self, accounts: dict[str, dict[str, Any]]):
        listed = ", ".join(_listed(account, about) for account, about in accounts.items())
        super().__init__(
            f"this lake holds several accounts; say which with --account ID (or the "
            f"parameter account): {listed}"
        )
        self.accounts = list(accounts)


def check_account_id(value: Any) -> str:
    """A Spotify user ID as a lake can hold it, or a ValidationError."""
    if not isinstance(value, str) or not ACCOUNT_ID.match(value) or ".." in value:
        raise ValidationError(
            f"{shown(value)} is not a Spotify user ID (letters, digits, '.', '_' or '-'; "
            "`spotify-etl accounts` lists this lake's)"
        )
    return value


def scoped_key(key: str, account: str) -> str:
    """Where an account's object lives in the lake: `raw/2026-11-26/…` becomes
    `raw/account_id=<id>/2026-11-26/…`, `processed/plays/…` becomes
    `processed/plays/account_id=<id>/…`."""
    top, _, rest = key.partition("/")
    if top == PROCESSED:
        table, _, rest = rest.partition("/")
        return f"{PROCESSED}/{table}/{ACCOUNT}={account}/{rest}"
    if top in SCOPED:
        return f"{top}/{ACCOUNT}={account}/{rest}"
    raise LakeError(f"{key} is not a key of an account's folders ({', '.join(SCOPED)})")


def split_key(key: str) -> tuple[str, str]:
    """(account, the key as the account's view names it) for a key under an account's
    prefix; a ValidationError for any other key."""
    parts = key.split("/")
    at = 2 if parts[0] == PROCESSED else 1
    prefix = f"{ACCOUNT}="
    if parts[0] not in (PROCESSED, *SCOPED) or len(parts) <= at + 1:
        raise ValidationError(f"{shown(key)} is not an account's key")
    if not parts[at].startswith(prefix):
        raise ValidationError(f"{shown(key)} is not under an account ({EARLIER})")
    account = check_account_id(parts[at][len(prefix) :])
    return account, "/".join(parts[:at] + parts[at + 1 :])


class AccountLake:
    """One account's view of the lake: the keys of the layout before accounts, each read
    and written under the account's prefix (`scoped_key`)."""

    def __init__(self, lake: Lake, account: str):
        self.base = lake
        self.account = check_account_id(account)

    def key(self, key: str) -> str:
        return scoped_key(key, self.account)

    def put(
        self, key: str, data: bytes, *, if_match: str | None = None, if_none_match: bool = False
    ) -> str:
        return self.base.put(self.key(key), data, if_match=if_match, if_none_match=if_none_match)

    def get(self, key: str) -> bytes:
        return self.base.get(self.key(key))

    def get_versioned(self, key: str) -> tuple[bytes, str]:
        return self.base.get_versioned(self.key(key))

    def exists(self, key: str) -> bool:
        return self.base.exists(self.key(key))

    def list(self, prefix: str) -> Iterator[str]:
        """The account's keys under `prefix`; `processed/` alone lists every table's, from
        every account's listing, kept to this one's."""
        if prefix.rstrip("/") == PROCESSED:
            for key in self.base.list(f"{PROCESSED}/"):
                account, viewed = split_key(key)
                if account == self.account:
                    yield viewed
            return
        for key in self.base.list(self.key(prefix)):
            yield split_key(key)[1]

    def uri(self, key: str) -> str:
        return self.base.uri(self.key(key))

    def delete(self, key: str, why: str = UPLOAD) -> None:
        self.base.delete(self.key(key), why)


def registered(lake: Lake) -> dict[str, dict[str, Any]]:
    """The lake's accounts, each with what the register knows of it (display name, when it
    was added), in ID order; a LegacyLakeError for a lake of the version before accounts."""
    try:
        accounts = orjson.loads(lake.get(REGISTER)).get("accounts", {})
    except NotFoundError:
        if earlier_layout(lake):
            raise LegacyLakeError(
                f"this lake was written before accounts existed: {EARLIER}"
            ) from None
        return {}
    return dict(sorted(accounts.items()))


def earlier_layout(lake: Lake) -> bool:
    """Whether the lake holds objects of the layout before accounts: a run record or raw
    answer outside every account's prefix. One listing request per folder: keys of that
    layout begin with a digit, which sorts before `account_id=`."""
    for folder in ("runs/", "raw/"):
        first = next(iter(lake.list(folder)), None)
        if first is not None and not first[len(folder) :].startswith(f"{ACCOUNT}="):
            return True
    return False


def register(lake: Lake, account: str, about: dict[str, Any]) -> None:
    """Add an account to the register, or update what it knows of it (a display name);
    nothing is written where the register already says so."""
    check_account_id(account)

    def change(accounts: dict[str, Any]) -> bool:
        current = accounts.get(account)
        wanted = {**(current or {}), **{k: v for k, v in about.items() if v is not None}}
        if current is not None and "added_at" in current:
            wanted["added_at"] = current["added_at"]
        accounts[account] = wanted
        return wanted != current

    _update(lake, change)


def unregister(lake: Lake, account: str) -> bool:
    """Remove an account from the register; whether it was there."""

    def change(accounts: dict[str, Any]) -> bool:
        return accounts.pop(account, None) is not None

    return _update(lake, change)


def _update(lake: Lake, change: Callable[[dict[str, Any]], bool]) -> bool:
    """Apply `change` to the register's accounts and write them back if it changed them,
    merging with a writer who saved since (the change is applied again to theirs)."""
    try:
        data, version = lake.get_versioned(REGISTER)
        accounts: dict[str, Any] = orjson.loads(data).get("accounts", {})
    except NotFoundError:
        accounts, version = {}, None
    if not change(accounts):
        return False

    def merge(theirs: bytes | None) -> None:
        accounts.clear()
        accounts.update(orjson.loads(theirs).get("accounts", {}) if theirs else {})
        change(accounts)

    document = lambda: orjson.dumps({"accounts": dict(sorted(accounts.items()))})  # noqa: E731
    put_merging(lake, REGISTER, version, document, merge)
    return True


def choose(lake: Lake, requested: str | None) -> str:
    """The account a read is for: the one named (which the lake must hold), else the lake's
    only one. An AccountRequiredError where it holds several and none is named; a
    NotFoundError where it holds none or not the one named."""
    accounts = registered(lake)
    if requested is not None:
        check_account_id(requested)
        if requested not in accounts:
            known = ", ".join(accounts) or "none yet"
            raise NotFoundError(f"no account {requested} in this lake (its accounts: {known})")
        return requested
    if len(accounts) == 1:
        return next(iter(accounts))
    if accounts:
        raise AccountRequiredError(accounts)
    raise NotFoundError(
        "this lake holds no account yet: `spotify-etl extract` or `spotify-etl import` adds one"
    )


def _listed(account: str, about: dict[str, Any]) -> str:
    name = about.get("display_name")
    return f"{account} ({name})" if name and name != account else account
