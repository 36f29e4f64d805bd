"""Spotify to Athena: the Lambda handlers and REST routes, each a few lines into chalicelib."""

import functools
import logging
import math

from chalice import Chalice, ConflictError, Response

from chalicelib import accounts, metrics, pipeline, raw, settings, streams
from chalicelib.accounts import check_account_id
from chalicelib.api import (
    api_base_url,
    capped_page,
    http_errors,
    int_param,
    json_body,
    number_field,
    query_params,
    recap_field,
    result_page,
    wait_seconds,
)
from chalicelib.errors import ConfigError, NotFoundError, PipelineError, ValidationError
from chalicelib.raw import check_run_id
from chalicelib.runs import RunStore

app = Chalice(app_name="spotify-etl")
app.log.setLevel(logging.INFO)
DEPLOY = settings.DeploySettings.from_env(settings.environment())
config = settings.load  # this process's Settings, parsed once: every handler's one getter


@app.schedule(DEPLOY.snapshot_schedule)
def snapshot(event):
    """The daily snapshot: playlists, top items, saved tracks, plays and their catalog."""
    _scheduled(raw.SNAPSHOT, event.context)


@app.schedule(DEPLOY.plays_schedule)
def plays(event):
    """The frequent poll of recently played, read after the stored cursor."""
    _scheduled(raw.PLAYS_ONLY, event.context)


@app.on_s3_event(
    bucket=DEPLOY.bucket,
    events=["s3:ObjectCreated:*"],
    prefix=DEPLOY.raw_prefix,
    suffix=raw.MANIFEST,
)
def on_manifest(event):
    """A run's manifest landed: transform that run into the processed tables."""
    given = config()
    key = pipeline.manifest_key_of(given, event.bucket, event.key)
    return _transformed(event.context, lambda: pipeline.transform(given, key))


@app.on_s3_event(
    bucket=DEPLOY.bucket, events=["s3:ObjectCreated:*"], prefix=DEPLOY.imports_prefix
)
def on_import(event):
    """A privacy export uploaded under imports/: land it redacted in raw/ (its manifest then
    starts the transform) and remove the upload; a bad export is kept, its record says why."""
    try:
        record = pipeline.import_upload(config(), event.bucket, event.key)
    except ValidationError as error:
        app.log.error("import refused: %s", error)
        return None
    if record is None:
        return None
    app.log.info("import %s of %s: %s", record.run_id, event.key, record.status.value)
    metrics.emit(metrics.run_metrics(_function(event.context), record.to_json()))
    return record.to_json()


@app.route("/health")
def health():
    return {"status": "ok"}


@app.route("/runs", methods=["POST"], api_key_required=True)
@http_errors
def start_run():
    """An extract run of `account`; without one, of every account in turn."""
    body = json_body(app.current_request.raw_body, {"kind", "streams", "account"})
    kind = body.get("kind", raw.SNAPSHOT)
    if kind not in (raw.SNAPSHOT, raw.PLAYS_ONLY):
        raise ValidationError(f"kind must be {raw.SNAPSHOT!r} or {raw.PLAYS_ONLY!r}")
    account = body.get("account")
    if account is not None:
        check_account_id(account)
    given, options = config(), {"kind": kind, "streams": _streams(body.get("streams"))}
    try:
        if not given.lake_is_local:
            records = pipeline.queue_run(given, account=account, **options)
        elif account is None:
            records = pipeline.extract_and_transform_accounts(given, **options)
        else:
            records = [pipeline.extract_and_transform(given, account=account, **options)]
    except ConfigError as error:  # the deployment lacks a setting: the message names it
        raise ConflictError(str(error)) from None
    runs = [
        {"run_id": r.run_id, "account": r.account, "status": r.status.value} for r in records
    ]
    return _accepted({**(runs[0] if len(runs) == 1 else {}), "runs": runs})


@app.lambda_function(name="run_extract")
def run_extract(event, context):
    """The runs POST /runs queued, invoked asynchronously: each account's in turn; each
    manifest then starts its transform."""
    try:
        options = pipeline.queued_run(event)
    except ValidationError as error:
        app.log.error("queued run refused: %s", error)
        return
    run_ids, every = options.pop("run_ids"), options.pop("every_account")
    if every:
        _extract_accounts(context, "queued runs", run_ids=run_ids, **options)
        return
    for account, run_id in run_ids.items():
        _extract(context, "queued run", account=account, run_id=run_id, **options)


@app.lambda_function(name="replay")
def replay(event, context):
    """A transform POST /runs/{run_id}/transform queued, invoked asynchronously with {run_id,
    account}; a failing lake is raised, so Lambda retries the event."""
    try:
        run_id, account = pipeline.queued_replay(event)
        return _transformed(
            context, lambda: pipeline.replay(config(), run_id, account=account)
        )
    except (NotFoundError, ValidationError) as error:
        app.log.error("replay refused: %s", error)
        return None


@app.route("/imports", methods=["POST"], api_key_required=True)
@http_errors
def start_import():
    """A presigned URL to PUT a privacy export to, for `account` (by default the lake's
    only one); its upload starts the import."""
    body = json_body(app.current_request.raw_body, {"filename", "account"})
    filename = body.get("filename", "my_spotify_data.zip")
    if not isinstance(filename, str):
        raise ValidationError("filename must be a string: the export's file name")
    return pipeline.presign_upload(config(), filename, account=body.get("account"))


@app.route("/accounts", api_key_required=True)
@http_errors
def list_accounts():
    """The lake's accounts: ID, display name, plays, first and last play, last run."""
    query_params(app.current_request.query_params, set())
    return {"accounts": pipeline.account_summaries(pipeline.lake_to_read(config()))}


@app.route("/runs", api_key_required=True)
@http_errors
def list_runs():
    params = query_params(app.current_request.query_params, {"limit", "account"})
    limit = int_param(params, "limit", 20, 1, 200)
    lake = pipeline.lake_to_read(config())
    account = accounts.choose(lake, params.get("account"))
    records = RunStore(accounts.AccountLake(lake, account)).recent(limit)
    return {"account": account, "runs": [record.to_json() for record in records]}


@app.route("/runs/{run_id}", api_key_required=True)
@http_errors
def get_run(run_id):
    params = query_params(app.current_request.query_params, {"account"})
    check_run_id(run_id)
    lake = pipeline.lake_to_read(config())
    account = pipeline.account_of_run(lake, run_id, params.get("account"))
    return RunStore(accounts.AccountLake(lake, account)).get(run_id).to_json()


@app.route("/runs/{run_id}/transform", methods=["POST"], api_key_required=True)
@http_errors
def replay_transform(run_id):
    body = json_body(app.current_request.raw_body, {"account"})
    given, account = config(), body.get("account")
    if given.lake_is_local:
        status = pipeline.replay(given, run_id, account=account)["status"]
    else:
        status = pipeline.queue_replay(given, run_id, account=account)["status"]
    return _accepted({"run_id": run_id, "status": status})


@app.route("/dashboard", api_key_required=True)
@http_errors
def show_dashboard():
    """The dashboard for ?start_date=&end_date= (YYYY-MM-DD; the last 30 days by default)."""
    from chalicelib import dashboard

    return dashboard.respond(config(), app.current_request.query_params)


@app.route("/dashboard/together", api_key_required=True)
@http_errors
def show_together():
    """What the lake's listeners share, for ?start_date=&end_date= (the last 30 days)."""
    from chalicelib import dashboard

    return dashboard.respond_together(config(), app.current_request.query_params)


@app.route("/dashboard/links", methods=["POST"], api_key_required=True)
@http_errors
def make_dashboard_link():
    """An expiring signed link to the dashboard (or to a year in review: {"recap": 2025}),
    for a browser without the API key."""
    from chalicelib import links

    body = json_body(app.current_request.raw_body, {"hours", "account", "recap"})
    hours = number_field(body, "hours", links.DEFAULT_HOURS)
    recap = recap_field(body)
    given = config()
    try:
        key = links.key_of(given)
    except ConfigError as error:
        raise ConflictError(str(error)) from None
    account = accounts.choose(pipeline.lake_to_read(given), body.get("account"))
    link = links.make(key, api_base_url(app.current_request), hours, account, recap=recap)
    return Response(body=link.to_json(), status_code=201)


@app.route("/view/dashboard")
@http_errors
def view_dashboard():
    """The dashboard through a signed link: no API key, the link's signature instead."""
    from chalicelib import dashboard

    return dashboard.respond_signed(config(), app.current_request.query_params)


@app.route("/recap/{year}", api_key_required=True)
@http_errors
def show_recap(year):
    """A year in review, each figure beside the year before's: an HTML page."""
    from chalicelib import dashboard

    return dashboard.respond_recap(config(), year, app.current_request.query_params)


@app.route("/view/recap/{year}")
@http_errors
def view_recap(year):
    """The year in review through a signed dashboard link: no API key."""
    from chalicelib import dashboard

    return dashboard.respond_recap_signed(config(), year, app.current_request.query_params)


@app.route("/queries", api_key_required=True)
@http_errors
def list_queries():
    from chalicelib.query import named

    query_params(app.current_request.query_params, set())
    return {"queries": named.describe()}


@app.route("/queries/{name}", methods=["POST"], api_key_required=True)
@http_errors
def run_query(name):
    from chalicelib.query import service

    body = json_body(app.current_request.raw_body, {"params", "wait_seconds"})
    result = service.run_named(config(), name, body.get("params"), wait_seconds(body))
    return capped_page(result) if "rows" in result else _accepted(result)


@app.route("/queries/executions/{execution_id}", api_key_required=True)
@http_errors
def get_execution(execution_id):
    from chalicelib.query import service

    params = query_params(app.current_request.query_params, {"next_token", "page_size"})
    page_size = int_param(params, "page_size", 100, 1, 1000)
    fetch = functools.partial(service.execution_page, config(), execution_id)
    return result_page(fetch, params.get("next_token"), page_size)


def _scheduled(kind: str, context) -> None:
    _extract_accounts(context, f"{kind} run", kind=kind)


def _extract_accounts(context, what: str, **options) -> None:
    """An extract run of every account in turn, each run's outcome logged as metrics (by
    account): one that fails does not stop the others."""
    name = _function(context)
    try:
        records = pipeline.extract_accounts(
            config(), remaining=_remaining(context), then=_emitted(name), **options
        )
    except PipelineError as error:
        app.log.error("%s failed: %s", what, error)
        metrics.emit(metrics.failed_metrics(name, str(error)))
        return
    outcomes = (f"{r.account or '(account unknown)'} {r.status.value}" for r in records)
    app.log.info("%s: %s", what, ", ".join(outcomes))


def _emitted(name: str):
    def emit(record):
        metrics.emit(metrics.run_metrics(name, record.to_json()))
        return record

    return emit


def _extract(context, what: str, **options) -> None:
    """One extract run, its outcome logged as metrics. A failure the pipeline put into
    words is logged, not raised (its record says why, and the next run resumes); anything
    else is raised after its metrics, so Lambda retries the event."""
    name, account = _function(context), options.get("account")
    try:
        record = pipeline.extract(config(), remaining=_remaining(context), **options)
    except PipelineError as error:
        app.log.error("%s of %s failed: %s", what, account, error)
        metrics.emit(metrics.failed_metrics(name, str(error), account))
        return
    except Exception as error:
        failure = f"{type(error).__name__}: {error}"
        metrics.emit(metrics.failed_metrics(name, failure, account))
        raise
    metrics.emit(metrics.run_metrics(name, record.to_json()))


def _transformed(context, transform):
    """A transform's outcome, logged as metrics; one that raised is logged as failed and
    raised again, so Lambda retries the event."""
    name = _function(context)
    try:
        outcome = transform()
    except Exception as error:
        metrics.emit(metrics.failed_metrics(name, f"{type(error).__name__}: {error}"))
        raise
    metrics.emit(metrics.transform_metrics(name, outcome))
    return outcome


def _function(context) -> str:
    """The function's deployed name (its short name outside Lambda)."""
    return getattr(context, "function_name", None) or "local"


def _remaining(context):
    """Seconds left in this Lambda invocation (unbounded when not in Lambda)."""
    if context is None:
        return lambda: math.inf
    return lambda: context.get_remaining_time_in_millis() / 1000


def _streams(value) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise ValidationError(f"streams must be a list of names from {', '.join(streams.NAMES)}")
    return streams.check(value)


def _accepted(body: dict) -> Response:
    return Response(body=body, status_code=202)
