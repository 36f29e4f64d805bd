"""Create or update the AWS resources of one stage; idempotent, with a dry run.

    python glue/setup.py --stage dev [--catalog projection|crawler] [--dry-run]

Reads LAKE_URI, GLUE_DATABASE and ATHENA_WORKGROUP of the stage from .chalice/config.json,
then brings the bucket, the Glue database and tables, the crawler (crawler mode only), the
Athena workgroup and the named queries to what the code expects, printing each change.
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
from glue.provision import Changes, Clients, Stage, set_up  # noqa: E402


def main(argv: list[str] | None = None, session=None) -> int:
    """Run setup for a stage; 0 on success, 1 with one line on failure."""
    args = _parser().parse_args(argv)
    try:
        stage = Stage.from_config(Path(args.config), args.stage)
        clients = _clients(session, args.region)
        changes = Changes(dry_run=args.dry_run)
        mode = f"{args.catalog} mode" + (", dry run: nothing is changed" if args.dry_run else "")
        print(f"stage {stage.name} in {clients.region} ({mode})")
        set_up(stage, clients, changes, args.catalog)
    except PipelineError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except (ClientError, BotoCoreError) as error:
        print(f"error: {aws_failure(error, region='--region')}", file=sys.stderr)
        return 1
    verb = "would change" if args.dry_run else "changed"
    print(f"{verb} {len(changes.made)} thing(s)" if changes.made else "everything was up to date")
    return 0


def _clients(session, region: str | None) -> Clients:
    session = session or aws.session(region)
    region = session.region_name or "us-east-1"
    return Clients(
        s3=session.client("s3", region_name=region),
        glue=session.client("glue", region_name=region),
        athena=session.client("athena", region_name=region),
        iam=session.client("iam", region_name=region),
        region=region,
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", required=True, help="a stage of .chalice/config.json")
    parser.add_argument("--catalog", choices=MODES, default=PROJECTION,
                        help="partition projection (default) or a scheduled crawler")
    parser.add_argument("--dry-run", action="store_true",
                        help="say what would change, change nothing")
    parser.add_argument("--region", help="AWS region (default: the AWS CLI's configuration)")
    parser.add_argument("--config", default=str(ROOT / ".chalice" / "config.json"),
                        help="the Chalice config to read the stage from")
    return parser


if __name__ == "__main__":
    sys.exit(main())
