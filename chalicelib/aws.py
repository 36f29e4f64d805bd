"""AWS at the boundary: the one place boto3 clients are made, and what a failure means to
the person who hit it, in one line that says what to do.

boto3 and botocore are imported only when a client is made or an error described, so
importing this costs nothing.
"""

from __future__ import annotations

import re
from typing import Any

DENIED = re.compile(r"AccessDenied|Unauthorized")  # AccessDenied(Exception), UnauthorizedOperation
BAD_KEYS = re.compile(
    r"InvalidClientTokenId|InvalidAccessKeyId|ExpiredToken|SignatureDoesNotMatch|UnrecognizedClient"
)


def client(service: str, **options: Any) -> Any:
    """A boto3 client for `service`, with the credentials and region the environment names
    (`options` as boto3.client takes them: region_name, config)."""
    import boto3

    return boto3.client(service, **options)


def session(region_name: str | None = None) -> Any:
    """A boto3 session (the deployer's, for glue/setup.py), in `region_name` or the
    environment's region."""
    import boto3

    return boto3.session.Session(region_name=region_name)


def is_aws_error(error: BaseException) -> bool:
    """Whether the error comes from botocore (AWS refused, or could not be reached)."""
    return type(error).__module__.startswith("botocore")


def aws_failure(error: Exception, region: str = "the region") -> str:
    """One line on what AWS refused or why it could not be reached, and what to do;
    `region` says where the region comes from."""
    from botocore.exceptions import (
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
        NoRegionError,
        PartialCredentialsError,
    )

    if isinstance(error, NoCredentialsError | PartialCredentialsError):
        return (
            "no AWS credentials found; configure them with `aws configure` "
            "(or set AWS_PROFILE to a configured profile) and run again"
        )
    if isinstance(error, NoRegionError):
        return "no AWS region set; set AWS_DEFAULT_REGION (or a profile's region), then run again"
    if isinstance(error, EndpointConnectionError):
        return f"cannot reach AWS ({error}); check the network and {region}, then run again"
    if isinstance(error, ClientError):
        detail = error.response.get("Error", {})
        code, message = detail.get("Code", "?"), " ".join(str(detail.get("Message", "")).split())
        line = f"AWS refused {error.operation_name}: {code}: {message}"
        if DENIED.search(code):
            line += "; the credentials need the rights listed in docs/DEPLOY.md §0"
        elif BAD_KEYS.search(code):
            line += "; renew or fix the credentials (`aws configure` or AWS_PROFILE)"
        return line
    return f"AWS call failed: {' '.join(str(error).split())}"
