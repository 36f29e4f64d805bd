"""Importing a privacy export: from a path (the command line) or from an upload S3 announced,
landed redacted as a run of its own, then transformed like any run."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from chalicelib import accounts
from chalicelib.accounts import AccountLake
from chalicelib.errors import NotFoundError, ValidationError
from chalicelib.lake import Lake
from chalicelib.pipeline.events import upload_key_of
from chalicelib.pipeline.run import lake_for, transform
from chalicelib.runs import RunRecord, RunStore
from chalicelib.settings import Settings

log = logging.getLogger(__name__)


def import_history(
    settings: Settings,
    path: Path,
    *,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    progress: Callable[[str, int], None] | None = None,
    account: str | None = None,
) -> RunRecord:
    """Import a privacy export (its zip, its folder or its JSON files) into the lake, under
    `account` (by default the lake's only one), redacted; on a local lake, then its
    transform (in AWS, S3 sends the manifest's event). The import's record, failed with the
    reason where a file of the export cannot be read; a path that holds no export, or no
    account to import it for, is refused before anything is written (a ValidationError)."""
    from chalicelib.history.export import check_export, files_of, username_of
    from chalicelib.history.importer import land

    check_export(path)
    base = lake_for(settings)
    account = importing_for(base, account, lambda: username_of(lambda: files_of(path)))
    lake = AccountLake(base, account)
    read = lambda: files_of(path)  # noqa: E731
    record = land(lake, read, started=now(), now=now, progress=progress, account=account)
    if settings.lake_is_local and record.manifest:
        transform(settings, accounts.scoped_key(record.manifest, account), now=now)
        record = RunStore(lake).get(record.run_id)
    return record


def importing_for(
    lake: Lake, account: str | None, named: Callable[[], str | None] = lambda: None
) -> str:
    """The account an export is imported for, added to the lake's register where it is new
    (an export may come before any extract): the one given; else the one the export `named`
    (its `username`, the Spotify user ID), which must be the lake's only account or a new
    lake's first; else the lake's only one. An export of someone else than the lake's only
    account is refused without a given account: one listener's history never lands in
    another's by mistake."""
    if account is None:
        held = accounts.registered(lake)
        owner = named()
        if owner is None and not held:
            raise ValidationError(
                "this lake holds no account yet and the export names none: give its account "
                "(--account ID, or the field account: the listener's Spotify user ID)"
            )
        if owner is None:
            return accounts.choose(lake, None)
        if owner not in held and held:
            raise ValidationError(
                f"this export is {owner}'s (its username), not an account of this lake "
                f"({', '.join(held)}): to import it as {owner}'s, a listener of its own, give "
                f"--account {owner}; as another account's, give that one"
            )
        account = owner
    accounts.registered(lake)  # a lake of the version before accounts is migrated first
    accounts.register(lake, accounts.check_account_id(account), {})
    return account


def import_upload(
    settings: Settings,
    bucket: str,
    object_key: str,
    *,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> RunRecord | None:
    """Import an export uploaded under the lake's imports/ (S3 sent the event), then remove
    the upload once its redacted copy and manifest are in raw/: the one deletion the pipeline
    makes, as the upload holds IP addresses and user agents. A failed import keeps the upload
    and says so in its record. None when the upload is gone: a retried event, imported."""
    from chalicelib.history.export import files_of_upload
    from chalicelib.history.importer import land

    key = upload_key_of(settings, bucket, object_key)
    base = lake_for(settings)
    try:
        account = accounts.split_key(key)[0]
    except ValidationError:  # right under imports/ (a URL of the version before accounts)
        account = accounts.choose(base, None)
    try:
        data = base.get(key)
    except NotFoundError:
        log.info("%s is gone: imported already", key)
        return None
    kept = f"; the upload stays at {base.uri(key)}: replace it with the export Spotify sent"
    read = lambda: files_of_upload(key, data)  # noqa: E731
    lake = AccountLake(base, account)
    record = land(lake, read, started=now(), now=now, kept=kept, account=account)
    if record.manifest:
        base.delete(key)
    return record
