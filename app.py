"""Spotify to Athena: the Lambda handlers and REST routes, each a few lines into chalicelib."""

import functools
import logging
import math
import os

from chalice import Chalice, Response

from chalicelib import pipeline, raw
from chalicelib.api import (
    capped_page,
    http_errors,
    int_param,
    json_body,
    query_params,
    result_page,
    wait_seconds,
)
from chalicelib.dashboard import dashboard
from chalicelib.errors import PipelineError, ValidationError
from chalicelib.runs import RunStore, check_run_id
from chalicelib.settings import DeploySettings, Settings

app = Chalice(app_name="spotify-etl")
app.log.setLevel(logging.INFO)
app.register_blueprint(dashboard)
DEPLOY = DeploySettings.from_env(os.environ)


def settings() -> Settings:
    return Settings.from_env(os.environ)


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
    config = settings()
    return pipeline.transform(config, pipeline.manifest_key_of(config, event.bucket, event.key))


@app.route("/health")
def health():
    return {"status": "ok"}


@app.route("/runs", methods=["POST"], api_key_required=True)
@http_errors
def start_run():
    body = json_body(app.current_request.raw_body, {"kind", "streams"})
    kind = body.get("kind", raw.SNAPSHOT)
    if kind not in (raw.SNAPSHOT, raw.PLAYS_ONLY):
        raise ValidationError(f"kind must be {raw.SNAPSHOT!r} or {raw.PLAYS_ONLY!r}")
    config, options = settings(), {"kind": kind, "streams": _streams(body.get("streams"))}
    if config.lake_is_local:
        record = pipeline.extract_and_transform(config, **options)
    else:
        function = os.environ.get("EXTRACT_FUNCTION")  # spotify-etl-<stage>-run_extract
        record = pipeline.queue_run(config, function_name=function, **options)
    return _accepted({"run_id": record["run_id"], "status": record["status"]})


@app.lambda_function(name="run_extract")
def run_extract(event, context):
    """A run POST /runs queued, invoked asynchronously; its manifest then starts the transform."""
    try:
        pipeline.extract(settings(), remaining=_remaining(context), **pipeline.queued_run(event))
    except PipelineError as error:
        app.log.error("queued run failed: %s", error)


@app.route("/runs", api_key_required=True)
@http_errors
def list_runs():
    params = query_params(app.current_request.query_params, {"limit"})
    limit = int_param(params, "limit", 20, 1, 200)
    return {"runs": RunStore(pipeline.lake_to_read(settings())).recent(limit)}


@app.route("/runs/{run_id}", api_key_required=True)
@http_errors
def get_run(run_id):
    query_params(app.current_request.query_params, set())
    check_run_id(run_id)
    return RunStore(pipeline.lake_to_read(settings())).get(run_id)


@app.route("/runs/{run_id}/transform", methods=["POST"], api_key_required=True)
@http_errors
def replay_transform(run_id):
    json_body(app.current_request.raw_body, set())
    config = settings()
    if config.lake_is_local:
        event = pipeline.manifest_event(config, pipeline.manifest_of_run(config, run_id))
        status = on_manifest(event, None)["status"]
    else:
        function = os.environ.get("TRANSFORM_FUNCTION")  # spotify-etl-<stage>-on_manifest
        status = pipeline.queue_transform(config, run_id, function_name=function)["status"]
    return _accepted({"run_id": run_id, "status": status})


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
    result = service.run_named(settings(), name, body.get("params"), wait_seconds(body))
    return capped_page(result) if "rows" in result else _accepted(result)


@app.route("/queries/executions/{execution_id}", api_key_required=True)
@http_errors
def get_execution(execution_id):
    from chalicelib.query import service

    params = query_params(app.current_request.query_params, {"next_token", "page_size"})
    page_size = int_param(params, "page_size", 100, 1, 1000)
    fetch = functools.partial(service.execution_page, settings(), execution_id)
    return result_page(fetch, params.get("next_token"), page_size)


def _scheduled(kind: str, context) -> None:
    try:
        pipeline.extract(settings(), kind=kind, remaining=_remaining(context))
    except PipelineError as error:
        app.log.error("%s run failed: %s", kind, error)


def _remaining(context):
    """Seconds left in this Lambda invocation (unbounded when not in Lambda)."""
    if context is None:
        return lambda: math.inf
    return lambda: context.get_remaining_time_in_millis() / 1000


def _streams(value) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(s in pipeline.SNAPSHOT_STREAMS for s in value):
        raise ValidationError(
            f"streams must be a list of names from {', '.join(pipeline.SNAPSHOT_STREAMS)}"
        )
    return tuple(value)


def _accepted(body: dict) -> Response:
    return Response(body=body, status_code=202)
