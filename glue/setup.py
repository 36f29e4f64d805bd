"""Create or update the AWS resources of one stage; idempotent, with a dry run.

    python glue/setup.py --stage dev [--catalog projection|crawler] [--dry-run]
                         [--alarm-email ADDRESS] [--plays-alarm-hours N]

Reads LAKE_URI, GLUE_DATABASE and ATHENA_WORKGROUP of the stage from .chalice/config.json,
then brings the bucket, the Glue database and tables, the crawler (crawler mode only), the
Athena workgroup and the named queries, the failure queue and each asynchronous function's
retries and failure destination, the alarms and their SNS topic, and the dashboard links'
signing key to what the code expects, printing each change.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make chalicelib and glue importable
    sys.path.insert(0, str(ROOT))

from chalicelib import aws  # noqa: E402
from chalicelib.aws import aws_failure  # noqa: E402
from chalicelib.errors import PipelineError  # noqa: E402
from glue.catalog import MODES, PROJECTION  # noqa: E402
from glue.operations import DEFAULT_PLAYS_ALARM_HOURS, MAX_ALARM_HOURS  # noqa: E402
from glue.provision import Changes, Clients, Operations, say, set_up  # noqa: E402
from spotify_etl.cli import whole  # noqa: E402
from spotify_etl.stage import Stage  # noqa: E402


def main(argv: list[str] | None = None, session=None) -> int:
    """Run setup for a stage; 0 on success, 1 with one line on failure."""
    args = _parser().parse_args(argv)
    try:
        stage = Stage.from_config(Path(args.config), args.stage)
        operations = Operations(args.alarm_email, args.plays_alarm_hours)
        clients = _clients(session, args.region)
        changes = Changes(dry_run=args.dry_run)
        mode = f"{args.catalog} mode" + (", dry run: nothing is changed" if args.dry_run else "")
        say(f"stage {stage.name} in {clients.region} ({mode})")
        set_up(stage, clients, changes, args.catalog, operations)
    except PipelineError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except (ClientError, BotoCoreError) as error:
        print(f"error: {aws_failure(error, region='--region')}", file=sys.stderr)
        return 1
    verb = "would change" if args.dry_run else "changed"
    say(f"{verb} {len(changes.made)} thing(s)" if changes.made else "everything was up to date")
    return 0


def _clients(session, region: str | None) -> Clients:
    session = session or aws.session(region)
    region = session.region_name or "us-east-1"

    def client(service: str):
        return session.client(service, region_name=region)

    return Clients(
        s3=client("s3"),
        glue=client("glue"),
        athena=client("athena"),
        iam=client("iam"),
        region=region,
        account=client("sts").get_caller_identity()["Account"],
        sqs=client("sqs"),
        lambda_=client("lambda"),
        sns=client("sns"),
        cloudwatch=client("cloudwatch"),
        secrets=client("secretsmanager"),
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", required=True, help="a stage of .chalice/config.json")
    parser.add_argument("--catalog", choices=MODES, default=PROJECTION,
                        help="partition projection (default) or a scheduled crawler")
    parser.add_argument("--dry-run", action="store_true",
                        help="say what would change, change nothing")
    parser.add_argument("--region",
                        help="AWS region (default: the AWS CLI's configuration, else us-east-1)")
    parser.add_argument("--alarm-email", metavar="ADDRESS",
                        help="subscribe this address to the stage's alarms (confirm AWS's e-mail)")
    parser.add_argument("--plays-alarm-hours", type=whole(1, MAX_ALARM_HOURS), metavar="N",
                        help="alarm when no plays poll succeeded for N hours (1-168; default: "
                        f"what the alarm has, else {DEFAULT_PLAYS_ALARM_HOURS})")
    parser.add_argument("--config", default=str(ROOT / ".chalice" / "config.json"),
                        help="the Chalice config to read the stage from (default: this "
                        "project's .chalice/config.json)")
    return parser


if __name__ == "__main__":
    sys.exit(main())
