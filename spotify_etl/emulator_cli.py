"""`spotify-etl emulator`: the Spotify emulator as a server of its own."""

from __future__ import annotations

import argparse
from pathlib import Path

from chalicelib.errors import ConfigError
from spotify_etl import output


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The emulator command's options: where, which account, which faults."""
    from emulator import Faults, Scale
    from spotify_etl.cli import port_number

    parser.add_argument("--port", type=port_number, default=8765)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--export",
        type=Path,
        metavar="PATH",
        help="also write the account's privacy export (a year of history before its plays, "
        "the zip Spotify sends) to PATH, for `spotify-etl import PATH`",
    )
    scale, faults = Scale(), Faults()
    account = parser.add_argument_group("account scale")
    account.add_argument("--playlists", type=int, default=scale.playlists)
    account.add_argument("--entries", type=int, default=scale.entries, help="entries per playlist")
    account.add_argument("--plays-per-day", type=int, default=scale.plays_per_day)
    account.add_argument("--saved-tracks", type=int, default=scale.saved_tracks)
    fault = parser.add_argument_group("faults")
    fault.add_argument(
        "--rate-limit",
        type=float,
        default=faults.rate_limit,
        help="fraction of requests answered 429",
    )
    fault.add_argument(
        "--retry-after", type=int, default=faults.retry_after, help="Retry-After seconds on a 429"
    )
    fault.add_argument(
        "--server-errors",
        type=float,
        default=faults.server_errors,
        help="fraction of requests answered 5xx",
    )
    fault.add_argument(
        "--token-ttl",
        type=int,
        default=faults.token_ttl,
        help="seconds an access token really lives",
    )
    fault.add_argument("--latency-ms", type=int, default=faults.latency_ms)
    parser.set_defaults(command=serve)


def _write_export(emulator, path: Path) -> None:
    """The served account's privacy export, consistent with the plays it answers."""
    from emulator.export import export_entries, write_export

    now = emulator.clock()
    write_export(emulator.world, path, now)
    entries = len(export_entries(emulator.world, now))
    told = f"wrote the account's privacy export, {entries:,} entries, to {path}: "
    output.line(told, (f"spotify-etl import {path}", "bold"))


def serve(args: argparse.Namespace) -> int:
    """Serve until interrupted, after printing the variables that point the pipeline at it."""
    from emulator import Emulator, Faults, Scale

    emulator = Emulator(
        seed=args.seed,
        port=args.port,
        scale=Scale(
            playlists=args.playlists,
            entries=args.entries,
            plays_per_day=args.plays_per_day,
            saved_tracks=args.saved_tracks,
        ),
        faults=Faults(
            rate_limit=args.rate_limit,
            retry_after=args.retry_after,
            server_errors=args.server_errors,
            token_ttl=args.token_ttl,
            latency_ms=args.latency_ms,
        ),
    )
    if args.export and not args.export.parent.is_dir():
        raise ConfigError(f"{args.export.parent} is not a folder: give --export a path in one")
    try:
        emulator.start()
    except OSError as error:
        raise ConfigError(
            f"cannot listen on 127.0.0.1:{args.port} ({error.strerror}): "
            "pass --port with a free port"
        ) from None
    if args.export:
        _write_export(emulator, args.export)
    output.console.print("Spotify emulator serving; point the pipeline at it with:\n")
    # It has no rate limit to keep under: unpaced, a run takes no longer than its requests.
    variables = {**emulator.variables(), "SPOTIFY_RATE_LIMIT": "0"}
    exports = (f"export {name}={value}" for name, value in variables.items())
    print("\n".join(exports) + "\n", flush=True)
    output.console.print("Ctrl-C stops it.")
    try:
        emulator.wait()
    finally:
        emulator.stop()
    return 0
