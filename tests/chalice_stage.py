"""chalice.test.Client on a stage of our own, whose variables are the test's environment
(the repo's `.chalice/config.json` would otherwise override them on every invocation)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from chalice.test import Client


@contextmanager
def stage_client(app: Any, project: Path, env: dict[str, str], **stage: Any) -> Iterator[Client]:
    """A client on stage `test` of a config written under `project`."""
    (project / ".chalice").mkdir(parents=True)
    config = {
        "version": "2.0",
        "app_name": "spotify-etl",
        "stages": {"test": {"environment_variables": env, **stage}},
    }
    (project / ".chalice" / "config.json").write_text(json.dumps(config))
    with Client(app, stage_name="test", project_dir=str(project)) as client:
        yield client


def s3_event(bucket: str, key: str) -> dict[str, Any]:
    """The event S3 sends a Lambda when one object is created."""
    return {
        "Records": [
            {
                "eventSource": "aws:s3",
                "eventName": "ObjectCreated:Put",
                "s3": {"bucket": {"name": bucket}, "object": {"key": quote(key)}},
            }
        ]
    }
