"""Which AWS calls each of our Lambda functions makes, seen as botocore sends them: every
API call of any client goes through `BaseClient._make_api_call`, so wrapping it records the
service, the operation and its parameters under the name of the function being run."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import botocore.client
from botocore import xform_name


class Recorder:
    """(service, operation, parameters) per function, while `running(function)` is open."""

    def __init__(self) -> None:
        self.calls: dict[str, list[tuple[str, str, dict[str, Any]]]] = defaultdict(list)
        self._function: str | None = None

    @contextmanager
    def running(self, function: str) -> Iterator[None]:
        self._function = function
        try:
            yield
        finally:
            self._function = None

    def add(self, function: str, service: str, operation: str, params: dict[str, Any]) -> None:
        """A call made on the function's behalf outside botocore (a presigned URL's)."""
        self.calls[function].append((service, operation, params))

    @contextmanager
    def installed(self) -> Iterator[Recorder]:
        original = botocore.client.BaseClient._make_api_call
        recorder = self

        def recording(client, operation_name, api_params):
            if recorder._function is not None:
                service = client.meta.service_model.service_name
                recorder.calls[recorder._function].append(
                    (service, xform_name(operation_name), dict(api_params))
                )
            return original(client, operation_name, api_params)

        botocore.client.BaseClient._make_api_call = recording
        try:
            yield self
        finally:
            botocore.client.BaseClient._make_api_call = original
