"""Lambda's asynchronous invocation for our handlers, in-process: moto keeps the functions
and their event invoke configurations but cannot run them here (no Docker).

As AWS documents it: an event (an S3 notification, a schedule, `Invoke` with
`InvocationType=Event`) runs the handler; an error is retried `MaximumRetryAttempts` times;
when every attempt failed, the invocation record (`requestContext`, `requestPayload`,
`responseContext`, `responsePayload`) goes to the function's on-failure destination.
`Invoke` calls from any boto3 client made after `installed()` reach it.
"""

from __future__ import annotations

import json
import traceback
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import boto3
from chalice.local import LambdaContext
from stand_ins import REGION

ACCOUNT = "123456789012"  # moto's


class Accepted:
    """The HTTP side of Lambda's 202 for an Event invocation."""

    status_code = 202
    headers: dict[str, str] = {}


class AsyncLambda:
    def __init__(self, app: Any, prefix: str):
        self._app = app
        self._prefix = prefix  # the deployed names' `app-stage-`
        self.attempts: list[tuple[str, str | None]] = []  # (function, error or None)

    def deliver(self, function: str, event: Any) -> None:
        """An asynchronous event for `function` (its short name): run, retry, or queue."""
        name = f"{self._prefix}{function}"
        config = boto3.client("lambda", region_name=REGION).get_function_event_invoke_config(
            FunctionName=name
        )
        attempts = config["MaximumRetryAttempts"] + 1
        for _ in range(attempts):
            context = LambdaContext(name, 1769, max_runtime_ms=900_000)
            try:
                self._app.handler_map[function](json.loads(json.dumps(event)), context)
            except Exception as error:  # what Lambda reports as an Unhandled function error
                self.attempts.append((function, f"{type(error).__name__}: {error}"))
                failure = error
                continue
            self.attempts.append((function, None))
            return
        self._send_failure(name, config, event, failure, attempts)

    def _send_failure(self, name: str, config: dict, event: Any, error: Exception, count: int):
        destination = config["DestinationConfig"]["OnFailure"]["Destination"]
        record = {
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}:$LATEST",
                "condition": "RetriesExhausted",
                "approximateInvokeCount": count,
            },
            "requestPayload": event,
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": "Unhandled",
            },
            "responsePayload": {
                "errorMessage": str(error),
                "errorType": type(error).__name__,
                "stackTrace": traceback.format_exception(error)[-3:],
            },
        }
        sqs = boto3.client("sqs", region_name=REGION)
        url = sqs.get_queue_url(QueueName=destination.rsplit(":", 1)[1])["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(record))

    @contextmanager
    def installed(self) -> Iterator[AsyncLambda]:
        """Answer every later boto3 client's Lambda `Invoke` with an Event invocation here."""
        session = boto3._get_default_session()

        def keep(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
            context["invoked"] = dict(params)  # the call's own parameters, before serializing

        def invoke(context: dict[str, Any], **_: Any):
            params = context["invoked"]
            if params.get("InvocationType") != "Event":
                raise AssertionError("only asynchronous invocations are stood in for")
            function = params["FunctionName"].removeprefix(self._prefix)
            self.deliver(function, json.loads(params.get("Payload") or b"{}"))
            return Accepted(), {"StatusCode": 202, "ResponseMetadata": {"HTTPStatusCode": 202}}

        hooks = [("before-parameter-build.lambda.Invoke", keep),
                 ("before-call.lambda.Invoke", invoke)]  # fmt: skip
        for event, hook in hooks:
            session.events.register(event, hook, unique_id=f"async-lambda-{event}")
        try:
            yield self
        finally:
            for event, _ in hooks:
                session.events.unregister(event, unique_id=f"async-lambda-{event}")
