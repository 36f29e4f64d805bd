"""Orchestrating runs: an extract, then (on a local lake) its transform; a transform, and
its replay. Each function takes a Settings object and builds the outside services it needs
(lake, Spotify client, run store) lazily, so importing this module costs nothing.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib import accounts, raw
from chalicelib.accounts import AccountLake
from chalicelib.errors import (
    ConfigError,
    CutShortError,
    LakeError,
    NotFoundError,
    PipelineError,
    ValidationError,
)
from chalicelib.lake import Lake, open_lake, open_lake_to_read
from chalicelib.lease import Lease, LeaseHeldError
from chalicelib.pipeline.credentials import (
    AppCredentials,
    app_credentials,
    check_credentials,
    redact,
    store_refresh_token,
)
from chalicelib.runs import RunRecord, RunStore, Status
from chalicelib.settings import Settings
from chalicelib.spotify.limiter import RequestPacer
from chalicelib.streams import of_kind

log = logging.getLogger(__name__)


def lake_for(settings: Settings) -> Lake:
    """The lake to write to (a local one is made as needed)."""
    return open_lake(settings.lake_uri)


def lake_to_read(settings: Settings) -> Lake:
    """The lake to read from; NotFoundError if LAKE_URI's folder holds none."""
    return open_lake_to_read(settings.lake_uri)


def extract(
    settings: Settings,
    *,
    account: str | None = None,
    kind: str = raw.SNAPSHOT,
    streams: tuple[str, ...] | None = None,
    remaining: Callable[[], float] = lambda: math.inf,
    sleep: Callable[[float], None] = time.sleep,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    on_new_refresh_token: Callable[[str], None] | None = None,
    run_id: str | None = None,
    progress: Callable[[raw.Part], None] | None = None,
    lake: Lake | None = None,
    pacer: RequestPacer | None = None,
) -> RunRecord:
    """One extract run of one account into `lake` (by default LAKE_URI's); returns its run
    record (also when it failed, after recording it under the account). `account` None
    means the one-account token's account where the credentials hold that token, else the
    only account they name; the one-account token's is who `GET /me` says (asked first, as
    every run does), and it also serves a named account the credentials keep no token of
    (GET /me must then answer that account). Without credentials configured it is refused
    before it starts: a ConfigError, no record. While another extract holds the app's lease,
    or Spotify's Retry-After holds the app (chalicelib.lease), it asks Spotify nothing and
    lands nothing: its record says `skipped` and why.

    `account` runs on its own refresh token, else on the one-account token, whose GET /me
    must then name it. `lake` may be one account's view (chalicelib.accounts.AccountLake):
    that account's run. `sleep` waits on the clock `now` reads: the pacing under
    SPOTIFY_RATE_LIMIT and the retries both wait through it. `pacer` is the app's, shared by
    the accounts extracted in turn (by default the run makes its own).
    """
    from chalicelib.spotify.client import connect
    from chalicelib.spotify.extract import Options, run_extract

    check_credentials(settings)
    if isinstance(lake, AccountLake):  # one account's view: that account's run
        if account not in (None, lake.account):
            raise ValidationError(f"account {account} is not the lake view's {lake.account}")
        account, lake = lake.account, lake.base
    base = lake or lake_for(settings)
    known = accounts.registered(base)  # a lake of the version before accounts: migrate first
    if account is not None:
        accounts.check_account_id(account)
    started = now()
    streams = streams or of_kind(kind)
    run_id = run_id or raw.new_run_id(started)
    record = RunRecord.started(run_id, kind, streams, started)
    record.account = account  # else whose GET /me says
    records = _Records(base)
    try:
        lease = Lease.take(base, run_id, started, remaining)
    except LeaseHeldError as held:
        record.skipped(str(held), now())
        record.account = account or _sole(known)  # Spotify is not asked whose it is
        records.save(record)
        return record
    if account is not None:
        records.save(record)
    secrets: tuple[str, ...] = ()
    hold: datetime | None = None
    app: AppCredentials | None = None
    try:
        app = app_credentials(settings)
        secrets = app.secrets
        named = account if account is not None else _only_account(app)
        slot = app.slot(named)
        keep = on_new_refresh_token if slot is None else None
        client = connect(
            app.of(slot),
            settings.api_url,
            settings.auth_url,
            sleep=sleep,
            remaining=remaining,
            on_new_refresh_token=keep or store_refresh_token(settings, slot),
            concurrency=settings.extract_concurrency,
            rate_limit=settings.rate_limit,
            clock=lambda: now().timestamp(),
            pacer=pacer,
        )
        fallback = named or _unnamed_owner(known, app)
        user = _identify(client, fallback)
        owner = _whose(user, named, fallback)
        if account is None:
            record.account = owner
            records.save(record)
        about = {"display_name": user.get("display_name")} if user else {}
        if owner not in known or any(known[owner].get(k) != v for k, v in about.items()):
            accounts.register(base, owner, about)  # new, or renamed: written (else no request)
        options = Options(
            kind=kind,
            streams=streams,
            playlists=settings.playlists,
            workers=settings.extract_concurrency,
            catalog_max_age=timedelta(days=settings.catalog_max_age_days),
            detail_budget=settings.catalog_detail_budget,
        )
        result = run_extract(
            client,
            AccountLake(base, owner),
            options=options,
            run_id=run_id,
            started=started,
            now=now,
            progress=progress,
            user=user,
        )
        hold = result.held_until
    except Exception as error:  # a failed run must leave a record, whatever the cause
        message = str(error) if isinstance(error, PipelineError) else _unexpected(error)
        record.failed(message, now())
        if record.account is None:  # failed before GET /me said whose it is
            record.account = _unnamed_owner(known, app) if app is not None else _sole(known)
        records.save(redact(record, secrets))
        raise
    finally:
        lease.release(hold)
    record.extracted(result.manifest, result.counts, result.errors)
    record = redact(record, secrets)
    records.save(record)
    return record


def extract_accounts(
    settings: Settings,
    *,
    remaining: Callable[[], float] = lambda: math.inf,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    then: Callable[[RunRecord], RunRecord] | None = None,
    run_ids: dict[str, str] | None = None,
    **options: Any,
) -> list[RunRecord]:
    """An extract run of every account the credentials hold, one after the other (never two
    at once: one app, one rate limit), on one pacer, so that SPOTIFY_RATE_LIMIT holds across
    them. Each run has its own record; one that fails does not stop the others (its record
    and the error log say why), whatever failed it. `then` follows each run (locally: its
    transform). `run_ids` names the run queued for an account (queue_run). Where the
    credentials cannot be read, every account the lake knows gets a failed record saying
    why.
    """
    check_credentials(settings)
    lake = options.pop("lake", None) or lake_for(settings)
    try:
        app = app_credentials(settings)
    except ConfigError as error:
        _record_unreadable(lake, str(error), options.get("kind", raw.SNAPSHOT), now)
        raise
    pacer = (
        RequestPacer(settings.rate_limit, clock=lambda: now().timestamp())
        if settings.rate_limit
        else None
    )
    records: list[RunRecord] = []
    queued = dict(run_ids or {})
    # The one-account token's run is the queued run of the one account the credentials
    # name no token for (the lake's, whose token it is), where there is one.
    outside = [account for account in queued if account not in app.accounts]
    unnamed_run = outside[0] if app.unnamed and len(outside) == 1 else None
    named = sorted(set(app.accounts) | set(queued) - {unnamed_run})
    for account in [*([None] if app.unnamed else []), *named]:
        done = next((r for r in records if account is not None and r.account == account), None)
        if done is not None:  # the one-account token's account, named as well
            _extracted_already(lake, queued.get(done.account or ""), done, now)
            continue
        key = unnamed_run if account is None else account
        run_id = (queued.get(key) if key else None) or raw.new_run_id(now())
        try:
            record = extract(
                settings,
                account=account,
                remaining=remaining,
                now=now,
                lake=lake,
                pacer=pacer,
                run_id=run_id,
                **options,
            )
        except Exception as error:  # one account's failure never stops the others'
            message = str(error) if isinstance(error, PipelineError) else _unexpected(error)
            log.error("the extract of account %s failed: %s", account or "(unnamed)", message)
            record = _failed_run(lake, run_id, account, message, now, options)
        records.append(then(record) if then else record)
    return records


class _Records:
    """Where a run's record is saved: under its account, by one store per account (which
    remembers the version it wrote). A run whose account is not known yet (a one-account
    token in a lake of no or several accounts, before GET /me answered) is recorded once it
    is, or, where Spotify never says, not at all: it fails with its error."""

    def __init__(self, lake: Lake):
        self._lake = lake
        self._stores: dict[str, RunStore] = {}

    def save(self, record: RunRecord) -> None:
        if record.account is None:
            return
        if record.account not in self._stores:
            self._stores[record.account] = RunStore(AccountLake(self._lake, record.account))
        self._stores[record.account].save(record)


def _extracted_already(
    lake: Lake, run_id: str | None, done: RunRecord, now: Callable[[], datetime]
) -> None:
    """A run queued for an account the one-account token's run extracted already: its
    record says so (skipped), rather than staying queued."""
    if run_id is None or run_id == done.run_id or done.account is None:
        return
    store = RunStore(AccountLake(lake, done.account))
    record = store.get(run_id)
    record.skipped(f"run {done.run_id} extracted account {done.account}", now())
    store.save(record)


def _failed_run(
    lake: Lake,
    run_id: str,
    account: str | None,
    message: str,
    now: Callable[[], datetime],
    options: dict[str, Any],
) -> RunRecord:
    """The record a failed extract saved; where it could save none (the one-account token
    failed before Spotify said whose it is, in a lake of no or several accounts), one of no
    account, saying why, so that the failure is still counted and logged."""
    try:
        owner = account or account_of_run(lake, run_id)
        store = RunStore(AccountLake(lake, owner))
        record = store.get(run_id)
        if record.status == Status.QUEUED:  # the run failed before it could say so
            record.failed(message, now())
            store.save(record)
        return record
    except NotFoundError:
        kind = options.get("kind", raw.SNAPSHOT)
        record = RunRecord.started(run_id, kind, options.get("streams") or of_kind(kind), now())
        record.account = account
        record.failed(message, now())
        return record


def _only_account(app: AppCredentials) -> str | None:
    """The account of a run that names none: None for the one-account token, where the
    credentials hold one (GET /me says whose; extract_accounts runs the others in turn), else
    the only account they name; a ValidationError naming them where they name several."""
    if app.unnamed is not None:
        return None
    if app.unnamed is None and len(app.accounts) == 1:
        return next(iter(app.accounts))
    raise ValidationError(
        "the credentials hold several accounts; say which with --account ID (or the field "
        f"account): {', '.join(sorted(app.accounts))}"
    )


def _sole(held: dict[str, Any]) -> str | None:
    """The lake's only account (of those `held`, its register), if it holds one."""
    return next(iter(held)) if len(held) == 1 else None


def _unnamed_owner(held: dict[str, Any], app: AppCredentials) -> str | None:
    """Whose the one-account token is, as far as the lake tells before GET /me does: the
    lake's only account (of those `held`) the credentials name no token for, if any."""
    others = [account for account in held if account not in app.accounts]
    return others[0] if len(others) == 1 else None


def _identify(client: Any, named: str | None) -> dict[str, Any] | None:
    """GET /me's answer, which every run asks first; None where the run was cut short
    asking it (rate limited, out of time) for an account known by name (or the lake's only
    one, for the one-account token): its run then ends partial, as any run cut short does.
    A one-account token's run in a lake of no or several accounts, whose account only that
    answer names, fails instead."""
    try:
        return client.get("me")
    except CutShortError:
        if named is None:
            raise
        return None


def _whose(user: dict[str, Any] | None, named: str | None, fallback: str | None) -> str:
    """The account GET /me answered for, which must be the one the token is kept under
    (`fallback`, where the run was cut short before it answered)."""
    if user is None and fallback is not None:
        return fallback
    account = accounts.check_account_id((user or {}).get("id"))
    if named is not None and account != named:
        raise ConfigError(
            f"the refresh token kept for account {named} is account {account}'s: run "
            f"`spotify-etl auth` again as {named}"
        )
    return account


def _record_unreadable(
    lake: Lake, message: str, kind: str, now: Callable[[], datetime]
) -> None:
    """A failed record, saying why, for every account the lake knows."""
    try:
        known = accounts.registered(lake)
    except PipelineError:
        return
    for account in known:
        moment = now()
        record = RunRecord.started(raw.new_run_id(moment), kind, of_kind(kind), moment)
        record.failed(message, moment)
        RunStore(AccountLake(lake, account)).save(record)


def extract_and_transform(
    settings: Settings,
    *,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    **options: Any,
) -> RunRecord:
    """An extract run of one account; on a local lake, then its transform as the S3 event's
    handler would run it (in AWS, S3 sends the event when the manifest lands), on the same
    clock. The run's record."""
    return _transformed(settings, extract(settings, now=now, **options), now)


def extract_and_transform_accounts(
    settings: Settings,
    *,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    **options: Any,
) -> list[RunRecord]:
    """extract_accounts, each run followed (on a local lake) by its transform."""
    then = lambda record: _transformed(settings, record, now)  # noqa: E731
    return extract_accounts(settings, now=now, then=then, **options)


def _transformed(settings: Settings, record: RunRecord, now: Callable[[], datetime]) -> RunRecord:
    if not (settings.lake_is_local and record.manifest and record.account):
        return record
    transform(settings, accounts.scoped_key(record.manifest, record.account), now=now)
    return RunStore(AccountLake(lake_for(settings), record.account)).get(record.run_id)


def transform(
    settings: Settings, key: str, now: Callable[[], datetime] = lambda: datetime.now(UTC)
) -> dict[str, Any]:
    """Transform the run whose manifest is at `key` (relative to the lake root, under its
    account: `raw/account_id=<id>/<date>/<run>/manifest.json`).

    Bad raw input is quarantined by the transform itself; a failing lake (S3 unavailable) is
    raised, so Lambda retries the event, after the run record says so where it can.
    """
    from chalicelib.transform import transform_run

    account, manifest = accounts.split_key(key)
    lake = AccountLake(lake_for(settings), account)
    try:
        return transform_run(lake, manifest, now=now)
    except LakeError as error:
        _record_transform_failure(lake, manifest, error)
        raise


def replay(
    settings: Settings,
    run_id: str,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    *,
    account: str | None = None,
) -> dict[str, Any]:
    """Transform a run again from its raw answers (idempotent, as every transform is)."""
    return transform(settings, manifest_of_run(settings, run_id, account), now=now)


def _record_transform_failure(lake: Lake, key: str, error: LakeError) -> None:
    """Say in the run's record that the lake failed its transform, if the lake lets us."""
    _, run_id = raw.run_of_manifest(key)
    store = RunStore(lake)
    try:
        record = store.of_landed_run(run_id)
        record.transform_interrupted(str(error))
        store.save(record)
    except PipelineError:
        log.warning("could not record the failed transform of %s", run_id)


def account_of_run(lake: Lake, run_id: str, account: str | None = None) -> str:
    """The account a run belongs to: the one named (which must hold it), else the one of the
    lake's accounts holding its record or its manifest (a run ID names its start to the
    second and six random hex digits, so no two accounts share one); a NotFoundError where
    none does."""
    raw.check_run_id(run_id)
    candidates = [accounts.choose(lake, account)] if account else list(accounts.registered(lake))
    for candidate in candidates:
        scoped = AccountLake(lake, candidate)
        if scoped.exists(RunStore.key_of(run_id)) or scoped.exists(raw.manifest_key_of_run(run_id)):
            return candidate
    raise NotFoundError(f"no run {run_id}; `spotify-etl runs` or GET /runs lists the recent ones")


def manifest_of_run(settings: Settings, run_id: str, account: str | None = None) -> str:
    """The manifest key (relative to the lake root) of a run that landed its data;
    NotFoundError for one that did not."""
    raw.check_run_id(run_id)
    lake = lake_to_read(settings)
    owner = account_of_run(lake, run_id, account)
    key = raw.manifest_key_of_run(run_id)
    if not AccountLake(lake, owner).exists(key):
        raise NotFoundError(f"run {run_id} has no manifest: it failed before landing its data")
    return accounts.scoped_key(key, owner)


def _unexpected(error: Exception) -> str:
    log.exception("unexpected failure")
    return f"unexpected {type(error).__name__}: {error}"
