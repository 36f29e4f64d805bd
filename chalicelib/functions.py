"""Our own Lambda functions, started asynchronously: a queued extract, a replayed transform.

`Functions` receives its Lambda client (one is made when none is given) and turns what
botocore raises into a PipelineError saying which function could not start and why.
"""

from __future__ import annotations

import json
from typing import Any

from chalicelib.aws import aws_failure, client, is_aws_error
from chalicelib.errors import PipelineError


class Functions:
    """Starts Lambda functions by name through the client it is given."""

    def __init__(self, lambda_client: Any = None):
        self._client = lambda_client

    def start(self, function_name: str, payload: dict[str, Any]) -> None:
        """Invoke the function asynchronously with a JSON payload (Lambda queues the event)."""
        self._client = self._client or client("lambda")
        try:
            self._client.invoke(
                FunctionName=function_name, InvocationType="Event", Payload=json.dumps(payload)
            )
        except Exception as error:
            if not is_aws_error(error):
                raise
            raise PipelineError(f"could not start {function_name}: {aws_failure(error)}") from None
