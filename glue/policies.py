"""Each Lambda function's own IAM policy, per stage: the actions its code calls, on the
stage's own resources, and what AWS does on its behalf (Athena's reads and writes, Lambda's
delivery of a failed event to the failure queue).

    python glue/policies.py           # write .chalice/policy-<stage>-<function>.json
    python glue/policies.py --check   # exit 1 if a file is not what this would write

The functions fall into four kinds by what they touch (`KINDS`), each naming the objects of
the lake it reads and writes as key patterns: what is an account's sits under its
`account_id=<id>/` (chalicelib.accounts), `*` standing for any account; `state/accounts.json`
(the register) and `state/extract-lease.json` are the app's. A new function names its kind in
`FUNCTIONS`. tests/aws/test_function_policies.py runs every function in moto and
checks each policy allows every call it made and grants nothing it did not need.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make the project importable
    sys.path.insert(0, str(ROOT))

from chalicelib.accounts import REGISTER, scoped_key  # noqa: E402
from chalicelib.runs import RECENT  # noqa: E402
from chalicelib.transform.summary import SUMMARY  # noqa: E402
from spotify_etl.stage import ATHENA_RESULTS, RETRIES, Stage  # noqa: E402

CONFIG = ROOT / ".chalice" / "config.json"
STAGES = ("dev", "prod")


def of_every_account(key: str) -> str:
    """The pattern of one of an account's objects (or, ending in *, of its folder), any
    account's: `state/runs/*` is `state/account_id=*/runs/*`."""
    return scoped_key(key, "*")


RUN_INDEX = of_every_account(RECENT.rsplit("/", 1)[0] + "/*")  # the newest runs' index
ACCOUNT_STATE = of_every_account("state/*")


@dataclass(frozen=True)
class Kind:
    """What one kind of function reads, writes and calls (the lake's objects by key
    pattern)."""

    reads: tuple[str, ...] = ()
    writes: tuple[str, ...] = ()
    deletes: tuple[str, ...] = ()
    lists: bool = False
    spotify_secret: bool = False
    queries: bool = False
    starts: tuple[str, ...] = ()
    dashboard_key: bool = False


KINDS = {
    # A run: its record (read back where another writer saved it since, to merge; and the
    # index of the newest runs, which it joins), the raw pages it lands, the cursors and
    # catalog state it reads and moves on (an unchanged playlist's pages are carried in
    # state/), the app's lease, and the register, which it adds its account to.
    "extract": Kind(
        reads=("state/*", "runs/*"),
        writes=("raw/*", "state/*", "runs/*"),
        lists=True,
        spotify_secret=True,
    ),
    # A run's raw pages into its account's processed tables (the register names the
    # lake's accounts), quarantining what does not parse; its account's state alone.
    "transform": Kind(
        reads=("raw/*", "state/*", "processed/*", "runs/*", "quarantine/*"),
        writes=("processed/*", ACCOUNT_STATE, "runs/*", "quarantine/*"),
        lists=True,
    ),
    # An uploaded export into raw/, redacted; the upload is then removed. Its run record
    # joins the index of the newest runs; its account's state alone.
    "import": Kind(
        reads=("imports/*", RUN_INDEX),
        writes=("raw/*", ACCOUNT_STATE, "runs/*", "quarantine/*"),
        deletes=("imports/*",),
    ),
    # The REST API: the register (an upload URL for an account the lake does not know yet
    # adds it), each account's run records, the index of its newest and its plays summary,
    # queued runs and replays, Athena queries, presigned uploads (a presigned PUT is
    # authorized as the role that signed it) and signed dashboard links.
    "api": Kind(
        reads=("runs/*", "raw/*", REGISTER, RUN_INDEX, of_every_account(SUMMARY)),
        writes=("runs/*", "imports/*", RUN_INDEX, REGISTER),
        lists=True,
        queries=True,
        starts=("run_extract", "replay"),
        dashboard_key=True,
    ),
}
FUNCTIONS = {
    "api_handler": "api",
    "snapshot": "extract",
    "plays": "extract",
    "run_extract": "extract",
    "on_manifest": "transform",
    "replay": "transform",
    "on_import": "import",
}
ASYNCHRONOUS = tuple(RETRIES)  # Lambda retries them and sends what fails to the failure queue


def policy_file(stage: str, function: str) -> str:
    return f"policy-{stage}-{function}.json"


def deployed_name(stage: Stage, function: str) -> str:
    """Chalice names the REST API's function after the app and stage alone."""
    return stage.prefixed if function == "api_handler" else stage.function(function)


def policy(stage: Stage, function: str) -> dict[str, Any]:
    """The IAM policy document of one function of a stage."""
    kind = KINDS[FUNCTIONS[function]]
    lake = f"arn:aws:s3:::{stage.bucket}"
    objects = [f"{lake}/{stage.prefix}{pattern}" for pattern in kind.reads]
    log_group = f"arn:aws:logs:*:*:log-group:/aws/lambda/{deployed_name(stage, function)}"
    statements: list[dict[str, Any]] = [
        _allow(
            "Logs",
            ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            [log_group, f"{log_group}:log-stream:*"],
        ),  # fmt: skip
    ]
    if kind.reads:
        statements.append(_allow("ReadLake", ["s3:GetObject"], objects))
    if kind.writes:
        writes = [f"{lake}/{stage.prefix}{pattern}" for pattern in kind.writes]
        statements.append(_allow("WriteLake", ["s3:PutObject"], writes))
    if kind.deletes:  # the one deletion: an imported upload, once its redacted copy is safe
        deletes = [f"{lake}/{stage.prefix}{pattern}" for pattern in kind.deletes]
        statements.append(_allow("RemoveImportedUploads", ["s3:DeleteObject"], deletes))
    if kind.lists:
        statements.append(_allow("ListLake", ["s3:ListBucket"], [lake]))
    if kind.spotify_secret:
        statements.append(
            _allow(
                "SpotifySecret",
                ["secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue"],
                [_secret(stage.secret_id)],
            )  # fmt: skip
        )
    if kind.dashboard_key:
        statements.append(
            _allow(
                "DashboardLinkKey",
                ["secretsmanager:GetSecretValue"],
                [_secret(stage.dashboard_key_id)],
            )  # fmt: skip
        )
    if kind.starts:
        functions = [f"arn:aws:lambda:*:*:function:{stage.function(f)}" for f in kind.starts]
        statements.append(_allow("StartExtractAndReplay", ["lambda:InvokeFunction"], functions))
    if kind.queries:
        statements.extend(_athena(stage))
    if function in ASYNCHRONOUS:
        queue = f"arn:aws:sqs:*:*:{stage.failure_queue}"
        statements.append(_allow("FailedEventsToQueue", ["sqs:SendMessage"], [queue]))
    return {"Version": "2012-10-17", "Statement": statements}


def _athena(stage: Stage) -> list[dict[str, Any]]:
    """The queries, and what Athena does with the caller's rights while running one: reads
    the catalog (AWS's Athena guide requires the `default` database too) and the tables'
    Parquet, and writes results to the workgroup's location, in multipart uploads it may
    list and abort."""
    lake = f"arn:aws:s3:::{stage.bucket}"
    results = f"{lake}/{stage.prefix}{ATHENA_RESULTS}*"
    glue = "arn:aws:glue:*:*"
    return [
        _allow("Queries", ["athena:StartQueryExecution", "athena:GetQueryExecution",
                           "athena:GetQueryResults", "athena:GetWorkGroup"],
               [f"arn:aws:athena:*:*:workgroup/{stage.workgroup}"]),
        _allow("AthenaReadsCatalog", ["glue:GetDatabase", "glue:GetTable",
                                      "glue:GetPartitions", "glue:BatchGetPartition"],
               [f"{glue}:catalog", f"{glue}:database/{stage.database}",
                f"{glue}:table/{stage.database}/*"]),
        _allow("AthenaDefaultDatabase", ["glue:GetDatabase"], [f"{glue}:database/default"]),
        _allow("AthenaReadsTables", ["s3:GetObject"], [f"{lake}/{stage.prefix}processed/*"]),
        _allow("AthenaFindsTheBucket", ["s3:GetBucketLocation", "s3:ListBucketMultipartUploads"],
               [lake]),
        _allow("AthenaWritesResults", ["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload",
                                       "s3:ListMultipartUploadParts"], [results]),
    ]  # fmt: skip


def _secret(secret_id: str) -> str:
    """A secret's ARN ends in a dash and six random characters Secrets Manager adds."""
    return f"arn:aws:secretsmanager:*:*:secret:{secret_id}-??????"


def _allow(sid: str, actions: list[str], resources: list[str]) -> dict[str, Any]:
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Action": actions[0] if len(actions) == 1 else actions,
        "Resource": resources[0] if len(resources) == 1 else resources,
    }


def rendered(stage: Stage, function: str) -> str:
    return json.dumps(policy(stage, function), indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="change nothing; exit 1 if a policy file is out of date",
    )
    args = parser.parse_args(argv)  # fmt: skip
    stale = []
    for stage_name in STAGES:
        stage = Stage.from_config(CONFIG, stage_name)
        for function in FUNCTIONS:
            path = CONFIG.parent / policy_file(stage_name, function)
            text = rendered(stage, function)
            current = path.read_text(encoding="utf-8") if path.exists() else None
            if current == text:
                continue
            stale.append(path.name)
            if not args.check:
                path.write_text(text, encoding="utf-8")
                print(f"wrote {path.relative_to(ROOT)}")
    if args.check and stale:
        print(f"out of date: {', '.join(stale)}; run python glue/policies.py", file=sys.stderr)
        return 1
    if not stale:
        print("every policy is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
