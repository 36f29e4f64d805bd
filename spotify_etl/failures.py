"""The events Lambda gave up on: what waits in a stage's failure queue, and its redrive.

Lambda sends an asynchronous event that failed all its retries (or grew too old) to the
queue `glue/setup.py` made its on-failure destination, as a record of the invocation:
`requestContext` (the function, the condition, how many times it ran), `requestPayload`
(the event itself) and `responsePayload` (the error). Listing leaves the messages in the
queue; a redrive invokes each function again, asynchronously, with its own event, and
deletes the message once Lambda has accepted it. Every function replayed this way is
idempotent: a transform writes the same tables, an import finds its upload or says it is
gone, an extract starts a run again from the stored cursors.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from chalicelib.aws import aws_failure, is_aws_error
from chalicelib.errors import ConfigError

RECEIVE_BATCH = 10
# While it is listed, a message is hidden from other readers for this long; listing then
# makes each visible again at once.
HIDE_SECONDS = 60


@dataclass(frozen=True)
class Failure:
    """One message of the failure queue."""

    message_id: str
    receipt: str
    function: str | None  # None: not a record Lambda wrote, never redriven
    condition: str
    attempts: int | None
    at: str
    error: str
    event: Any

    @property
    def what(self) -> str:
        """The event in a few words: the S3 object, the run, or the schedule."""
        event = self.event
        if isinstance(event, str):
            return event[:120]
        if not isinstance(event, dict):
            return json.dumps(event)[:120]
        records = event.get("Records")
        if isinstance(records, list) and records and isinstance(records[0], dict):
            s3 = records[0].get("s3", {})
            return f"s3://{s3.get('bucket', {}).get('name')}/{s3.get('object', {}).get('key')}"
        if "run_id" in event:
            return f"run {event['run_id']}" + (f" ({event['kind']})" if "kind" in event else "")
        if event.get("source") == "aws.events":
            return f"schedule {', '.join(event.get('resources') or [])}".strip()
        return json.dumps(event)[:120]


def failure_of(message: dict[str, Any]) -> Failure:
    """A queue message as a Failure; one Lambda did not write is kept, marked unreadable."""
    try:
        body = json.loads(message.get("Body", ""))
        context = body["requestContext"]
        function = context["functionArn"].split(":function:", 1)[1].split(":", 1)[0]
    except (ValueError, KeyError, TypeError, AttributeError, IndexError):
        return Failure(
            message["MessageId"], message["ReceiptHandle"], None, "unreadable", None, "",
            "not a Lambda failure record; left in the queue", message.get("Body", "")[:120],
        )  # fmt: skip
    response = body.get("responsePayload") or {}
    error = response.get("errorMessage") if isinstance(response, dict) else str(response)
    kind = response.get("errorType") if isinstance(response, dict) else None
    return Failure(
        message_id=message["MessageId"],
        receipt=message["ReceiptHandle"],
        function=function,
        condition=str(context.get("condition", "")),
        attempts=context.get("approximateInvokeCount"),
        at=str(body.get("timestamp", "")),
        error=f"{kind}: {error}" if kind and error else str(error or context.get("condition")),
        event=body.get("requestPayload"),
    )


class FailureQueue:
    """A stage's failure queue, read and redriven through the clients it is given."""

    def __init__(self, sqs: Any, lambda_: Any, queue_name: str):
        self._sqs = sqs
        self._lambda = lambda_
        self._name = queue_name
        self._url: str | None = None

    def waiting(self) -> list[Failure]:
        """Every message in the queue, oldest first; they stay in it."""
        failures = self._receive_all()
        self._show_again(failures)
        return failures

    def redrive(self) -> list[tuple[Failure, str | None]]:
        """Invoke each failed event's function again; (failure, None) when Lambda took it
        (its message is then deleted), (failure, why not) when it stays in the queue."""
        failures = self._receive_all()
        outcomes: list[tuple[Failure, str | None]] = []
        for failure in failures:
            problem = self._replay(failure)
            if problem is None:
                self._sqs.delete_message(QueueUrl=self._queue_url(), ReceiptHandle=failure.receipt)
            outcomes.append((failure, problem))
        self._show_again([failure for failure, problem in outcomes if problem is not None])
        return outcomes

    def delete(self, message_ids: set[str]) -> set[str]:
        """Remove the messages with these IDs without replaying them; the IDs removed."""
        failures = self._receive_all()
        removed = set()
        for failure in failures:
            if failure.message_id in message_ids:
                self._sqs.delete_message(QueueUrl=self._queue_url(), ReceiptHandle=failure.receipt)
                removed.add(failure.message_id)
        self._show_again([f for f in failures if f.message_id not in removed])
        return removed

    def _replay(self, failure: Failure) -> str | None:
        if failure.function is None:
            return failure.error
        try:
            self._lambda.invoke(
                FunctionName=failure.function,
                InvocationType="Event",
                Payload=json.dumps(failure.event).encode(),
            )
        except Exception as error:
            if not is_aws_error(error):
                raise
            return aws_failure(error)
        return None

    def _receive_all(self) -> list[Failure]:
        seen: dict[str, Failure] = {}
        while True:
            answer = self._sqs.receive_message(
                QueueUrl=self._queue_url(),
                MaxNumberOfMessages=RECEIVE_BATCH,
                VisibilityTimeout=HIDE_SECONDS,
                WaitTimeSeconds=1,
            )
            messages = answer.get("Messages", [])
            if not messages:
                break
            for message in messages:
                seen.setdefault(message["MessageId"], failure_of(message))
        return sorted(seen.values(), key=lambda failure: failure.at)

    def _show_again(self, failures: list[Failure]) -> None:
        for failure in failures:
            self._sqs.change_message_visibility(
                QueueUrl=self._queue_url(), ReceiptHandle=failure.receipt, VisibilityTimeout=0
            )

    def _queue_url(self) -> str:
        if self._url is None:
            try:
                self._url = self._sqs.get_queue_url(QueueName=self._name)["QueueUrl"]
            except self._sqs.exceptions.QueueDoesNotExist:
                raise ConfigError(
                    f"there is no queue {self._name} in this account and region; "
                    "glue/setup.py creates it (check --stage and the region)"
                ) from None
        return self._url
