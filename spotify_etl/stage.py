"""One Chalice stage's names, read from .chalice/config.json: its bucket, database,
workgroup and secrets, and the names of what it deploys and what glue/setup.py sets up
(functions, failure queue, alarm topic), all beginning with the app and stage so that two
stages in one account and region share nothing by accident.

Used by glue/setup.py and glue/policies.py, and by the commands that operate a deployed
stage (`spotify-etl failures`, `spotify-etl dashboard-link`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from chalicelib.errors import ConfigError
from chalicelib.settings import split_s3_uri

ATHENA_RESULTS = "athena-results/"
CONFIG = Path(".chalice") / "config.json"
# The functions Lambda invokes asynchronously (schedules, S3 events, our own queued runs),
# with how many times Lambda retries a failed event before it goes to the failure queue.
# A retried extract spends Spotify requests again, so it is retried once; a transform or
# an import is idempotent and cheap on Spotify, so twice (Lambda's most).
RETRIES = {"snapshot": 1, "plays": 1, "run_extract": 1, "on_manifest": 2, "replay": 2,
           "on_import": 2}  # fmt: skip
MAX_EVENT_AGE_SECONDS = 6 * 3600


@dataclass(frozen=True)
class Stage:
    """The names one Chalice stage uses, read from .chalice/config.json."""

    name: str
    bucket: str
    prefix: str
    database: str
    workgroup: str
    secret_id: str = ""
    app: str = "spotify-etl"
    dashboard_secret: str = ""  # DASHBOARD_KEY_SECRET_ID, when the config names one

    @property
    def results_location(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}{ATHENA_RESULTS}"

    @property
    def crawler(self) -> str:
        return f"{self.workgroup}-processed"

    @property
    def crawler_role(self) -> str:
        return f"{self.workgroup}-crawler"

    @property
    def prefixed(self) -> str:
        """What every name of this stage's own begins with (Chalice's `app-stage`)."""
        return f"{self.app}-{self.name}"

    def function(self, name: str) -> str:
        """The deployed name of one of the app's Lambda functions."""
        return f"{self.prefixed}-{name}"

    @property
    def failure_queue(self) -> str:
        return f"{self.prefixed}-failures"

    @property
    def alarm_topic(self) -> str:
        return f"{self.prefixed}-alarms"

    @property
    def dashboard_key_id(self) -> str:
        return self.dashboard_secret or f"{self.app}/{self.name}/dashboard-key"

    @classmethod
    def from_config(cls, path: Path, stage: str) -> Stage:
        """The stage's variables over the top-level ones; ConfigError if one is missing."""
        if not path.is_file():
            raise ConfigError(
                f"no Chalice config at {path}; run this in the project's folder "
                "(where .chalice/config.json is) or pass --config"
            )
        try:
            config = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as error:
            raise ConfigError(f"{path} is not valid JSON ({error}); fix it and run again") from None
        stages = config.get("stages", {}) if isinstance(config, dict) else {}
        if stage not in stages:
            raise ConfigError(f"{path} has no stage {stage!r}; it has {', '.join(stages)}")
        env = _variables(config, stage)
        if not _in_aws(env):
            aws = [name for name in stages if _in_aws(_variables(config, name))]
            raise ConfigError(
                f"stage {stage} keeps its lake on this machine, not in S3; this needs a stage "
                f"deployed to AWS ({', '.join(aws) or 'one whose LAKE_URI is s3://…'})"
            )
        missing = [n for n in ("GLUE_DATABASE", "ATHENA_WORKGROUP") if not env.get(n)]
        if missing:
            raise ConfigError(f"stage {stage} in {path} needs {' and '.join(missing)}")
        bucket, prefix = split_s3_uri(env["LAKE_URI"])
        return cls(
            stage,
            bucket,
            prefix,
            env["GLUE_DATABASE"],
            env["ATHENA_WORKGROUP"],
            env.get("SPOTIFY_SECRET_ID", ""),
            config.get("app_name", "spotify-etl"),
            env.get("DASHBOARD_KEY_SECRET_ID", ""),
        )


def _variables(config: dict, stage: str) -> dict[str, str]:
    """A stage's environment: the stage's variables over the top-level ones."""
    return {
        **config.get("environment_variables", {}),
        **config["stages"][stage].get("environment_variables", {}),
    }


def _in_aws(env: dict[str, str]) -> bool:
    return str(env.get("LAKE_URI", "")).startswith("s3://")
