"""`spotify-etl`: the pipeline from a terminal, against Spotify or the emulator."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from chalicelib import accounts, pipeline, raw, settings, streams
from chalicelib.accounts import AccountLake, AccountRequiredError
from chalicelib.aws import aws_failure, is_aws_error
from chalicelib.errors import PipelineError, ValidationError
from chalicelib.query.named import NamedQuery
from chalicelib.runs import RunRecord, RunStore, Status
from chalicelib.settings import Settings
from spotify_etl import environment, output
from spotify_etl.stage import CONFIG as STAGE_CONFIG
from spotify_etl.stage import Stage

# `spotify-etl extract`: 0 for a complete run, PARTIAL_EXIT when it was cut short (what it
# fetched is kept; the next run resumes), SKIPPED_EXIT when another extract held the lease
# (nothing asked, nothing landed), 1 when it failed.
PARTIAL_EXIT = 3
SKIPPED_EXIT = 4
EXIT_CODES = {Status.PARTIAL: PARTIAL_EXIT, Status.SKIPPED: SKIPPED_EXIT, Status.FAILED: 1}
CLOSED_PIPE_EXIT = 141  # as a command the shell's SIGPIPE stopped (`… | head -1`)
QUERY_POLL_SECONDS = 2.0


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line, run one command; exit 0, or 1 with one clear line."""
    args = parser().parse_args(argv)
    try:
        return args.command(args) or 0
    except AccountRequiredError as error:  # several accounts and none named: a usage error
        output.error(str(error))
        return 2
    except PipelineError as error:
        output.error(str(error))
        return 1
    except KeyboardInterrupt:
        output.errors.print("interrupted")
        return 130
    except BrokenPipeError:
        # The reader stopped (`| head -1`): stop silently, as every Unix tool does, and leave
        # nothing for Python to flush into the closed pipe at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return CLOSED_PIPE_EXIT
    except Exception as error:
        if os.environ.get("SPOTIFY_ETL_DEBUG"):
            raise
        output.error(_unexpected(error))
        return 1


def _unexpected(error: Exception) -> str:
    """What went wrong that no part of the pipeline put into words, as one line."""
    if is_aws_error(error):
        return aws_failure(error)
    detail = " ".join(str(error).split())
    return f"unexpected {type(error).__name__}: {detail} (set SPOTIFY_ETL_DEBUG=1 for a traceback)"


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="spotify-etl", description=__doc__)
    commands = root.add_subparsers(required=True, metavar="COMMAND")

    demo = commands.add_parser("demo", help="offline end to end on the Spotify emulator")
    demo.add_argument("--lake", default=".lake-demo", help="demo lake folder (recreated)")
    demo.add_argument(
        "--days", type=whole(1, 365), default=3, help="days of account history to run (1-365)"
    )
    demo.add_argument("--seed", type=int, default=7)
    demo.set_defaults(command=_demo)

    extract = commands.add_parser("extract", help="one extract run into LAKE_URI")
    extract.add_argument("--streams", type=_streams, help="comma list of " + _stream_names())
    extract.add_argument("--kind", choices=(raw.SNAPSHOT, raw.PLAYS_ONLY), default=raw.SNAPSHOT)
    _account_argument(extract, "extract this account only (default: each account in turn)")
    extract.set_defaults(command=_extract)

    imports = commands.add_parser(
        "import", help="a Spotify Extended Streaming History export into LAKE_URI"
    )
    imports.add_argument(
        "path", type=Path, help="the export's zip, its unpacked folder, or its JSON files' folder"
    )
    _account_argument(imports, "the export's account (default: the lake's only one)")
    imports.set_defaults(command=_import)

    transform = commands.add_parser("transform", help="(re)build processed tables from raw/")
    which = transform.add_mutually_exclusive_group(required=True)
    which.add_argument("--run", metavar="RUN_ID")
    which.add_argument("--all", action="store_true", help="every run in raw/, day by day")
    _account_argument(transform, "the account's runs only (default: every account's)")
    transform.set_defaults(command=_transform)

    migrate = commands.add_parser(
        "migrate",
        help="move LAKE_URI's tables from an earlier version's layout into this one's",
        description="Move a lake an earlier version wrote into this one's layout: a lake "
        "written before accounts moves under its account (account_id=<Spotify user ID>), and "
        "the daily partitions (processed/<table>/<date column>=YYYY-MM-DD/) go into the "
        "monthly objects this version reads. Nothing is lost, it can stop and run again, and a "
        "lake already migrated is left as it is. In AWS, run it with "
        "LAKE_URI=s3://bucket/prefix of the stage.",
    )
    _account_argument(
        migrate,
        "whose lake it is, where it holds no GET /me answer to tell (an import-only lake)",
    )
    migrate.set_defaults(command=_migrate)

    query = commands.add_parser("query", help="run a named query on the configured engine")
    query.add_argument("name", nargs="?", help="omit to list the named queries")
    query.add_argument("--param", action="append", default=[], metavar="K=V", type=_param)
    query.add_argument("--format", choices=output.FORMATS, default="table")
    query.add_argument(
        "--limit", type=whole(1, 10**9), metavar="N", help="print the first N rows (all by default)"
    )
    _account_argument(query, "whose rows (default: the lake's only account)")
    query.set_defaults(command=_query)

    recap = commands.add_parser(
        "recap",
        help="a year in review, each figure beside the year before's",
        description="A year's minutes, streams, tracks and artists, top 5 tracks and artists, "
        "the month, weekday and hour listened most, the longest streak and session and the "
        "artists discovered, each beside the year before's, from the named queries. The year "
        "under way is reviewed up to today, beside the year before up to the same date.",
    )
    recap.add_argument("year", help="the year to review, like 2025")
    _account_argument(recap, "whose year (default: the lake's only account)")
    recap.set_defaults(command=_recap)

    runs = commands.add_parser("runs", help="recent runs with status and counts")
    runs.add_argument("--limit", type=whole(1, 200), default=20, help="how many (1-200)")
    runs.add_argument("--format", choices=output.FORMATS, default="table")
    _account_argument(runs, "whose runs (default: the lake's only account)")
    runs.set_defaults(command=_runs)

    listed = commands.add_parser(
        "accounts", help="the lake's accounts: plays, first and last play, last run"
    )
    listed.add_argument("--format", choices=output.FORMATS, default="table")
    listed.set_defaults(command=_accounts)

    forget = commands.add_parser(
        "forget",
        help="remove every object of one account from the lake, and its token",
        description="Remove every object of the account from the lake (raw answers, tables, "
        "state, run records, quarantine, uploads) and its refresh token (from the accounts "
        "file, or the stage's secret with --stage). Without --yes, only list what it would "
        "remove. The other accounts are left as they are.",
    )
    forget.add_argument("--account", required=True, type=_account_id, metavar="ID")
    forget.add_argument("--yes", action="store_true", help="remove them (else only list them)")
    forget.add_argument("--stage", help="a deployed stage of .chalice/config.json (its S3 lake)")
    forget.add_argument("--config", type=Path, default=STAGE_CONFIG, help=argparse.SUPPRESS)
    forget.add_argument("--region", help="AWS region (default: the AWS CLI's configuration)")
    forget.set_defaults(command=_forget)

    auth = commands.add_parser("auth", help="one-time Spotify authorization; stores the token")
    auth.add_argument(
        "--port", type=port_number, default=8888, help="loopback port of the redirect URI"
    )
    auth.add_argument("--secret-id", metavar="ID", help="store in this AWS Secrets Manager secret")
    auth.add_argument("--no-browser", action="store_true", help="only print the URL to open")
    auth.set_defaults(command=_auth)

    failures = commands.add_parser(
        "failures",
        help="events a deployed stage's functions failed, from its failure queue",
        description="List the events Lambda gave up on after their retries (they stay in the "
        "stage's failure queue), replay them with --redrive, or remove one with --delete.",
    )
    _stage_arguments(failures)
    action = failures.add_mutually_exclusive_group()
    action.add_argument(
        "--redrive",
        action="store_true",
        help="invoke each event's function again with it; its message is removed once "
        "Lambda has taken it",
    )
    action.add_argument(
        "--delete",
        metavar="MESSAGE_ID",
        action="append",
        help="remove this message from the queue without replaying it (repeatable)",
    )
    failures.add_argument(
        "--format", choices=output.FORMATS, default="table", help="table (default), json or csv"
    )
    failures.set_defaults(command=_failures)

    link = commands.add_parser(
        "dashboard-link",
        help="an expiring link that opens a deployed stage's dashboard",
        description="Print a signed link to the stage's dashboard that a browser opens "
        "without the API key, until it expires.",
    )
    _stage_arguments(link)
    link.add_argument(
        "--hours",
        type=_hours,
        default=1,
        help="how long the link works (default 1; a minute to 168 hours)",
    )
    link.add_argument("--api-url", help="the API's URL (default: from .chalice/deployed/)")
    _account_argument(link, "whose dashboard the link opens (default: the lake's only account)")
    link.add_argument("--recap", metavar="YEAR", help="a link to that year's review instead")
    link.set_defaults(command=_dashboard_link)

    emulator = commands.add_parser("emulator", help="serve the Spotify emulator on 127.0.0.1")
    from spotify_etl.emulator_cli import add_arguments

    add_arguments(emulator)
    return root


def _stage_arguments(command: argparse.ArgumentParser) -> None:
    """--stage, --config and --region, for the commands that operate a deployed stage."""
    command.add_argument("--stage", required=True, help="a stage of .chalice/config.json")
    command.add_argument(
        "--config",
        type=Path,
        default=STAGE_CONFIG,
        help=f"the Chalice config with the stage (default {STAGE_CONFIG})",
    )
    command.add_argument("--region", help="AWS region (default: the AWS CLI's configuration)")


def _failures(args: argparse.Namespace) -> int:
    from chalicelib.aws import client
    from spotify_etl.failures import FailureQueue

    stage = Stage.from_config(args.config, args.stage)
    options = {"region_name": args.region} if args.region else {}
    queue = FailureQueue(client("sqs", **options), client("lambda", **options), stage.failure_queue)
    if args.delete:
        removed = queue.delete(set(args.delete))
        missing = sorted(set(args.delete) - removed)
        output.line(f"removed {len(removed)} message(s) from {stage.failure_queue}")
        if missing:
            output.error(f"not in the queue: {', '.join(missing)}")
        return 1 if missing else 0
    if args.redrive:
        outcomes = queue.redrive()
        output.rows(
            f"redrove {sum(p is None for _, p in outcomes)} of {len(outcomes)} event(s)",
            ["function", "event", "redriven", "reason"],
            [(_short(f.function, stage), f.what, "yes" if p is None else "no", p)
             for f, p in outcomes],
            args.format,
        )  # fmt: skip
        return 1 if any(problem is not None for _, problem in outcomes) else 0
    waiting = queue.waiting()
    if not waiting and args.format == "table":
        output.line(f"no failed events in {stage.failure_queue}")
        return 0
    output.rows(
        f"{len(waiting)} failed event(s) in {stage.failure_queue}",
        ["message_id", "failed_at", "function", "event", "attempts", "condition", "error"],
        [(f.message_id, f.at[:19].replace("T", " "), _short(f.function, stage), f.what,
          f.attempts, f.condition, f.error) for f in waiting],
        args.format,
    )  # fmt: skip
    if args.format == "table":
        if any(f.function for f in waiting):
            output.note(f"spotify-etl failures --stage {stage.name} --redrive replays them")
        if any(f.function is None for f in waiting):
            output.note("a message Lambda did not write is never replayed: --delete MESSAGE_ID")
    return 0


def _short(function: str | None, stage: Stage) -> str | None:
    """A function's name without the stage's own prefix (`spotify-etl-dev-`)."""
    if function is None:
        return None
    return function.removeprefix(f"{stage.prefixed}-") if function != stage.prefixed else "api"


def _hours(text: str) -> float:
    from chalicelib.links import MAX_HOURS, MIN_HOURS

    try:
        hours = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of hours") from None
    if not MIN_HOURS <= hours <= MAX_HOURS:
        raise argparse.ArgumentTypeError(f"must be from a minute ({MIN_HOURS:.4f}) to {MAX_HOURS}")
    return hours


def _dashboard_link(args: argparse.Namespace) -> int:
    from chalicelib import links
    from chalicelib.aws import client
    from chalicelib.recap import check_year

    recap = None if args.recap is None else check_year(args.recap, datetime.now(UTC).date())
    stage = Stage.from_config(args.config, args.stage)
    api_url = links.base_url_of(args.api_url or _deployed_api_url(args.config, stage.name))
    options = {"region_name": args.region} if args.region else {}
    key = links.key_of(
        Settings(dashboard_key_secret_id=stage.dashboard_key_id),
        client("secretsmanager", **options),
    )
    account = accounts.choose(_stage_lake(stage, options), args.account)
    link = links.make(key, api_url, args.hours, account, recap=recap)
    print(link.url)
    output.note(f"the link works until {link.to_json()['expires_at']}; the API key stays out of it")
    return 0


def _deployed_api_url(config: Path, stage: str) -> str:
    """The REST API's URL that `chalice deploy` recorded for the stage."""
    deployed = config.parent / "deployed" / f"{stage}.json"
    if not deployed.is_file():
        raise ValidationError(
            f"there is no {deployed}: deploy the stage (`chalice deploy --stage {stage}`) "
            "or pass --api-url https://…/api"
        )
    try:
        resources = json.loads(deployed.read_text(encoding="utf-8"))["resources"]
        return next(r["rest_api_url"] for r in resources if r.get("resource_type") == "rest_api")
    except (OSError, ValueError, KeyError, TypeError, StopIteration):
        raise ValidationError(
            f"{deployed} does not name the stage's API: deploy it (`chalice deploy --stage "
            f"{stage}`) or pass --api-url https://…/api"
        ) from None


def _extract(args: argparse.Namespace) -> int:
    env = settings.environment()
    config = Settings.from_env(env)
    pace = f" (at most {config.rate_limit} requests per 30 s)" if config.rate_limit else ""
    with output.console.status(f"extracting{pace}…") as status:
        options = {
            "kind": args.kind,
            "streams": args.streams,
            "on_new_refresh_token": environment.refresh_token_keeper(env),
            "progress": lambda part: status.update(
                f"extracting{pace}… {part.key.split('/', 3)[-1]}"
            ),
        }
        if args.account or len(_tokens(config)) == 1:  # one account: its error is the command's
            records = [pipeline.extract_and_transform(config, account=args.account, **options)]
        else:
            records = pipeline.extract_and_transform_accounts(config, **options)
    for record in records:
        _print_run(record)
    return max((EXIT_CODES.get(record.status, 0) for record in records), default=0)


def _tokens(config: Settings) -> list[str | None]:
    """The accounts the credentials name (None: SPOTIFY_REFRESH_TOKEN's)."""
    from chalicelib.pipeline.credentials import app_credentials

    app = app_credentials(config)
    return [*([None] if app.unnamed else []), *app.accounts]


def _import(args: argparse.Namespace) -> int:
    config = settings.load()
    with output.console.status("importing…") as status:
        record = pipeline.import_history(
            config,
            args.path,
            progress=lambda name, entries: status.update(f"importing… {name}: {entries:,} entries"),
            account=args.account,
        )
    _print_import(record)
    return EXIT_CODES.get(record.status, 0)


def _print_import(record: RunRecord) -> None:
    """What an import kept: its entries, the plays they became, what was skipped, and of
    those plays how many are new, how many the API had seen too (merged), an earlier import
    had brought (known) or the export holds twice (duplicates): the four add up to them."""
    output.line("import ", (record.run_id, "bold"), f": {record.status}")
    counts = record.counts or {}
    if counts:
        transform = record.transform or {}
        plays = (transform.get("rows") or {}).get("plays", 0)
        fared = transform.get("plays") or {}
        output.counts(
            "imported",
            {
                "files": counts["files"],
                "entries": counts["entries"],
                "plays": plays,
                "skipped (no track or episode, or private)": counts["entries"] - plays,
                "new plays": fared.get("new", 0),
                "merged with the API's plays": fared.get("merged", 0),
                "imported before": fared.get("known", 0),
                "duplicates within the export": fared.get("duplicates", 0),
            },
        )
    say = output.error if record.status == Status.FAILED else output.note
    for error in record.errors or []:
        say(error)


def _transform(args: argparse.Namespace) -> int:
    config = settings.load()
    if args.run:
        summary = pipeline.replay(config, args.run, account=args.account)
        output.line("run ", (args.run, "bold"), f": {summary['status']}")
        output.counts("table rows", summary.get("rows", {}))
        return 0 if summary["status"] != "failed" else 1
    from rich.progress import Progress

    from chalicelib.transform import transform_all

    lake = pipeline.lake_to_read(config)
    chosen = [accounts.choose(lake, args.account)] if args.account else accounts.registered(lake)
    summaries: list[dict[str, Any]] = []
    with Progress(console=output.console) as progress:
        for account in chosen:
            task = progress.add_task(f"transforming {account}'s raw/", total=None)
            summaries += transform_all(
                AccountLake(lake, account),
                progress=_advancing(progress, task),
            )
    failed = [s for s in summaries if s["status"] == "failed"]
    output.line(f"{len(summaries)} runs transformed, {len(failed)} failed")
    return 1 if failed else 0


def _migrate(args: argparse.Namespace) -> int:
    from rich.progress import Progress

    from chalicelib.transform import summary
    from chalicelib.transform.accounts import migrate_accounts
    from chalicelib.transform.layout import migrate_layout

    lake = pipeline.lake_to_read(settings.load())
    with Progress(console=output.console) as progress:
        task = progress.add_task("moving the lake under its account", total=None)
        account, moved = migrate_accounts(
            lake,
            args.account,
            progress=lambda done, total: progress.update(task, completed=done, total=total),
        )
        migrated = {}
        for held in accounts.registered(lake):
            task = progress.add_task(f"moving {held}'s daily partitions into months", total=None)
            view = AccountLake(lake, held)
            migrated[held] = migrate_layout(
                view,
                progress=_advancing(progress, task),
            )
            if moved or migrated[held].days:
                summary.recount(view)
    if moved:
        output.line(f"moved {moved:,} objects under account {account}")
    rows = [
        (held, name, days, done.months[name])
        for held, done in migrated.items()
        for name, days in done.days.items()
    ]
    if rows:
        output.rows(
            "migrated", ["account", "table", "daily partitions", "into months"], rows, "table"
        )
    if not moved and not rows:
        output.line("nothing to migrate: the lake is in this version's layout already")
    return 0


def _advancing(progress: Any, task: Any) -> Callable[[int, int], None]:
    """A callback moving a rich progress bar's task to `done` of `total`."""
    return lambda done, total: progress.update(task, completed=done, total=total)


def _query(args: argparse.Namespace) -> int:
    from chalicelib.query import named, service

    if not args.name:
        shown = _param_lines if args.format == "table" else list
        listed = [(q["name"], shown(q["params"]), q["description"]) for q in named.describe()]
        output.rows("named queries", ["name", "params", "description"], listed, args.format)
        return 0
    names = [name for name, _ in args.param]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValidationError(f"--param {repeated[0]} is given more than once; give it once")
    query = named.get_query(args.name)
    params = query.from_text(dict(args.param))
    if args.account:
        if params.get("account", args.account) != args.account:
            raise ValidationError("--account and --param account= name different accounts")
        params["account"] = args.account
    config = settings.load()
    result = service.run_named(config, args.name, params, 25, page_size=1000)
    while "rows" not in result:  # Athena still running it: ask again until it finished
        time.sleep(QUERY_POLL_SECONDS)
        result = service.execution_page(config, result["execution_id"], None, 1000)
    rows = service.following_pages(config, result, args.limit)
    answer = {**result, "rows": rows}
    output.query_result(args.name, answer, args.format, why_empty=_why_empty(query, params))
    return 0


def _recap(args: argparse.Namespace) -> int:
    from chalicelib import recap

    year = recap.check_year(args.year, datetime.now(UTC).date())
    config = settings.load()
    given = {"account": args.account} if args.account else {}
    with output.console.status(f"reviewing {year}…"):
        review = recap.load(config, year, given, patient=True)
    output.recap(review)
    return 0


def _why_empty(query: NamedQuery, params: dict[str, Any]) -> str:
    """Why a query answered no rows: what it counts, and the values it was asked for."""
    from chalicelib.query.service import with_placeholder_accounts

    bound = query.bind(with_placeholder_accounts(query, params))
    values = dict(zip(query.placeholders, bound, strict=True))
    asked = ", ".join(
        f"{param.name}={values[param.name]}"
        for param in query.params
        if param.name in values and param.type in ("date", "integer")
    )
    return f"{query.description} None for {asked}." if asked else query.description


def _runs(args: argparse.Namespace) -> int:
    lake = pipeline.lake_to_read(settings.load())
    account = accounts.choose(lake, args.account)
    records = RunStore(AccountLake(lake, account)).recent(args.limit)
    if args.format == "json":  # the records whole, as GET /runs answers them
        output.documents([record.to_json() for record in records])
        return 0
    output.rows(
        f"runs of {account}",
        ["run_id", "kind", "status", "started_at", "requests", "errors"],
        [
            (
                r.run_id,
                r.kind,
                r.status,
                r.started_at,
                (r.counts or {}).get("requests"),
                "; ".join(r.errors or []),
            )
            for r in records
        ],
        args.format,
    )
    return 0


def _demo(args: argparse.Namespace) -> int:
    from spotify_etl.demo import run_demo

    return run_demo(args.lake, days=args.days, seed=args.seed)


def _auth(args: argparse.Namespace) -> int:
    import webbrowser

    from spotify_etl import auth

    browser = None if args.no_browser else webbrowser.open
    auth.run(settings.environment(), port=args.port, secret_id=args.secret_id, open_browser=browser)
    return 0


def _print_run(record: RunRecord) -> None:
    whose = f" of {record.account}" if record.account else ""
    output.line("run ", (record.run_id, "bold"), f"{whose}: {record.status}")
    transform = record.transform or {}
    output.counts("extracted", record.counts or {})
    if transform.get("rows"):
        output.counts("table rows", transform["rows"])
    say = output.error if record.status == Status.FAILED else output.note
    for error in record.errors or []:
        say(error)


def _accounts(args: argparse.Namespace) -> int:
    listed = pipeline.account_summaries(pipeline.lake_to_read(settings.load()))
    if args.format == "json":
        output.documents(listed)
        return 0
    columns = ["account", "display_name", "plays", "first_play", "last_play", "last_run"]
    rows = [[entry[column] for column in columns] for entry in listed]
    output.rows("accounts", columns, rows, args.format)
    return 0


def _forget(args: argparse.Namespace) -> int:
    from chalicelib.forget import forget, objects_of

    if args.stage:
        from chalicelib.aws import client

        stage = Stage.from_config(args.config, args.stage)
        options = {"region_name": args.region} if args.region else {}
        lake = _stage_lake(stage, options)
        token = _secret_token_remover(stage, client("secretsmanager", **options), args.account)
    else:
        config = settings.load()
        lake = pipeline.lake_to_read(config)
        token = _file_token_remover(Path(config.accounts_file), args.account)
    if not args.yes:
        keys = objects_of(lake, args.account)
        output.rows(
            f"what `forget --account {args.account} --yes` would remove",
            ["object"],
            [[key] for key in keys],
            "table",
        )
        output.note(f"{len(keys)} objects, and the account's refresh token; nothing removed")
        return 0
    output.line(f"refresh token: {token()}")
    with output.console.status(f"removing {args.account}'s objects…") as status:
        removed = forget(lake, args.account, progress=lambda key: status.update(key))
    output.counts(f"removed from the lake for {args.account}", removed.by_folder)
    return 0


def _file_token_remover(path: Path, account: str) -> Callable[[], str]:
    from chalicelib.pipeline.credentials import forget_account

    def remove() -> str:
        if forget_account(path, account):
            return f"removed from {path}"
        return (
            f"none of {account}'s in {path}; if SPOTIFY_REFRESH_TOKEN (.env) is theirs, remove "
            "it there, or the next run extracts them again"
        )

    return remove


def _secret_token_remover(stage: Stage, secrets: Any, account: str) -> Callable[[], str]:
    from chalicelib.secrets import SpotifySecret

    def remove() -> str:
        if not stage.secret_id:
            return "the stage names no secret (SPOTIFY_SECRET_ID)"
        secret = SpotifySecret(stage.secret_id, secrets)
        if secret.forget_account(account):
            return f"removed from secret {stage.secret_id}"
        return (
            f"none of {account}'s in the accounts of secret {stage.secret_id}; if its "
            "one-account refresh_token is theirs, remove it there, or the next run extracts "
            "them again"
        )

    return remove


def _stage_lake(stage: Stage, options: dict[str, Any]) -> Any:
    from chalicelib.aws import client
    from chalicelib.lake import S3Lake

    return S3Lake(client("s3", **options), stage.bucket, stage.prefix)


def _account_argument(command: argparse.ArgumentParser, what: str) -> None:
    command.add_argument("--account", type=_account_id, metavar="ID", help=what)


def _account_id(value: str) -> str:
    try:
        return accounts.check_account_id(value)
    except ValidationError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def whole(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: a whole number from low to high."""

    def parse(value: str) -> int:
        if not value.isdigit() or not low <= int(value) <= high:
            raise argparse.ArgumentTypeError(f"a whole number from {low} to {high}, not {value!r}")
        return int(value)

    return parse


port_number = whole(0, 65535)  # 0: any free port


def _streams(value: str) -> tuple[str, ...]:
    try:
        return streams.check(part.strip() for part in value.split(",") if part.strip())
    except ValidationError:
        raise argparse.ArgumentTypeError(f"streams are a comma list of {_stream_names()}") from None


def _stream_names() -> str:
    return ", ".join(streams.NAMES)


def _param(value: str) -> tuple[str, str]:
    name, sep, text = value.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"--param takes NAME=VALUE, not {value!r}")
    return name.strip(), text


def _param_lines(params: list[dict[str, Any]]) -> str:
    """A query's parameters as `GET /queries` describes them, a line each:
    `limit (integer from 1 to 1000; default 10): how many tracks`."""
    return "\n".join(f"{p['name']} ({_param_kind(p)}): {p['description']}" for p in params)


def _param_kind(param: dict[str, Any]) -> str:
    low = f" from {param['min']}" if "min" in param else ""
    high = f" to {param['max']}" if "max" in param else ""
    default = "required" if param["required"] else f"default {param['default']}"
    return f"{param['type']}{low}{high}; {default}"


if __name__ == "__main__":
    sys.exit(main())
