"""The offline demo: a year of two emulated listeners' history, then a few days of it,
through the real pipeline, in one lake (SPEC §9), then the first listener's named queries'
results and year in review, and what the two share.

First each listener's privacy export (a year of plays, written by the emulator) is
imported, as a new user would before the first poll; then every schedule extracts both, in
turn, with the tokens of an accounts file as `spotify-etl auth` keeps them.

The emulator and the pipeline share a simulated clock, so each day's daily snapshot and
plays polls run at their scheduled times and the account changes between days. Every run
goes through the same code as in AWS: extract over HTTP into raw/, the transform the S3
event starts there, then the named queries on DuckDB.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.progress import Progress

from chalicelib import pipeline, raw
from chalicelib.errors import ConfigError, PipelineError
from chalicelib.runs import Status
from chalicelib.settings import Settings
from spotify_etl import output

MARKER = ".spotify-etl-demo"
# (hour, minute, kind): the daily snapshot, then the plays polls through the day.
SCHEDULE = (
    (3, 15, raw.SNAPSHOT),
    (9, 0, raw.PLAYS_ONLY),
    (15, 0, raw.PLAYS_ONLY),
    (21, 0, raw.PLAYS_ONLY),
)
SHOWN_ROWS = 10
EXPORT_DAYS = 365  # the days of history before the API's that the demo's export holds
LISTENERS = 2


def run_demo(lake: str, *, days: int, seed: int, first_day: datetime | None = None) -> int:
    """Run `days` days of schedules against the emulator, then print the named queries.

    The days end yesterday (UTC) unless `first_day`, a UTC midnight, says where they start.
    """
    from emulator import Emulator
    from emulator.clock import SimulatedClock

    folder = _fresh_lake(Path(lake))
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    first_day = first_day or today - timedelta(days=days)
    clock = SimulatedClock(first_day)
    with (
        Emulator(seed=seed, clock=clock.time, users=LISTENERS) as emulator,
        tempfile.TemporaryDirectory() as private,
    ):
        accounts_file = emulator.write_accounts_file(Path(private) / "accounts.json")
        variables = {**emulator.variables(), "SPOTIFY_ACCOUNTS_FILE": str(accounts_file)}
        variables.pop("SPOTIFY_REFRESH_TOKEN")  # the listeners' tokens are in the file
        config = Settings.from_env(
            {
                **os.environ,
                "LAKE_URI": str(folder),
                "QUERY_ENGINE": "duckdb",
                "PLAYLISTS": "all",
                "SPOTIFY_RATE_LIMIT": "0",  # the emulator has no rate limit to keep under
                **variables,
            }
        )
        with Progress(console=output.console) as progress:
            imported = sum(
                _import_history(config, emulator, user.user_id, clock, progress)
                for user in emulator.users
            )
            task = progress.add_task("runs", total=days * len(SCHEDULE))
            for day in range(days):
                for hour, minute, kind in SCHEDULE:
                    clock.moment = first_day + timedelta(days=day, hours=hour, minutes=minute)
                    progress.update(task, description=f"{kind} runs {clock.moment:%Y-%m-%d %H:%M}")
                    pipeline.extract_and_transform_accounts(config, kind=kind, now=clock.now)
                    progress.advance(task)
        requests = emulator.total_requests
        names = {user.user_id: user.display_name for user in emulator.users}
    history = first_day - timedelta(days=EXPORT_DAYS + emulator.scale.history_days)
    last = (first_day + timedelta(days=days - 1)).date()
    first_listener = next(iter(names))
    output.line(f"\nThe tables of {names[first_listener]} ({first_listener}):")
    _print_queries(config, history.date(), last, first_listener)
    _print_recap(config, (first_day - timedelta(days=EXPORT_DAYS // 2)).year, first_listener)
    _print_together(config, history.date(), last, names)
    output.line(
        f"\n{imported:,} plays imported from a year of {LISTENERS} listeners' privacy exports, "
        f"then {days * len(SCHEDULE)} schedules extracting both in turn, {requests} requests "
        f"to the emulator; lake in {folder}. Try: LAKE_URI={lake} .venv/bin/spotify-etl "
        "accounts, then runs --account ID"
    )
    return 0


def _import_history(config: Settings, emulator, account: str, clock, progress: Progress) -> int:
    """Import a year of a listener's history from their privacy export, as a user does
    before the first poll; the plays it added."""
    from emulator.export import write_export

    task = progress.add_task(f"importing a year of {account}'s history", total=None)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "my_spotify_data.zip"
        export = write_export(emulator.world, path, clock.time(), days=EXPORT_DAYS,
                              user_id=account)  # fmt: skip
        record = pipeline.import_history(config, export, now=clock.now, account=account)
    progress.update(task, total=1, completed=1)
    if record.status == Status.FAILED:
        raise PipelineError(f"the demo's import failed: {'; '.join(record.errors or [])}")
    return ((record.transform or {}).get("rows") or {}).get("plays", 0)


def _print_queries(config: Settings, start, end, account: str) -> None:
    from chalicelib.query import named, service

    # Per month: a year of history per day would be a long table; favourites forgotten for a
    # month, as the history holds a year.
    params = {
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
        "monthly": 1,
        "as_of": end.isoformat(),
        "quiet_days": 30,
        "account": account,
    }
    for query in named.describe():
        if query["name"] == "together":
            continue
        wanted = {p["name"] for p in query["params"]}
        result = service.run_named(
            config,
            query["name"],
            {k: v for k, v in params.items() if k in wanted},
            25,
            page_size=1000,
        )
        shown = dict(result, rows=result["rows"][:SHOWN_ROWS])
        output.console.print()
        title = f"{query['name']}  ({start} to {end})"
        output.query_result(title, shown, why_empty=query["description"])
        if len(result["rows"]) > SHOWN_ROWS:
            output.line(f"  … {len(result['rows']) - SHOWN_ROWS} more rows")


def _print_together(config: Settings, start, end, names: dict[str, str]) -> None:
    """The artists the listeners share, each one's streams and share beside."""
    from chalicelib.query import service

    params = {"start_date": start.isoformat(), "end_date": end.isoformat(), "limit": 5}
    result = service.run_named(config, "together", params, 25, page_size=1000)
    output.console.print()
    listeners = " and ".join(names.values())
    title = f"together  ({start} to {end}): the artists {listeners} share most"
    output.query_result(title, result, why_empty="the listeners share no artist")


def _print_recap(config: Settings, year: int, account: str) -> None:
    """The listener's year in review of the year the imported history holds most of."""
    from chalicelib import recap

    output.console.print()
    output.recap(recap.load(config, year, {"account": account}, patient=True))


def _fresh_lake(folder: Path) -> Path:
    """The demo's lake, emptied first; a folder it did not create is never touched."""
    if folder.exists() and any(folder.iterdir()):
        if not (folder / MARKER).exists():
            raise ConfigError(f"{folder} is not empty and not a demo lake; pass --lake elsewhere")
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MARKER).touch()
    return folder.resolve()
