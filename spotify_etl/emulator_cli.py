"""`spotify-etl emulator`: the Spotify emulator as a server of its own."""

from __future__ import annotations

import argparse
from pathlib import Path

from chalicelib.errors import ConfigError
from spotify_etl import output


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The emulator command's options: where, which accounts, which faults."""
    from emulator import Faults, Scale
    from emulator.account import MAX_USERS
    from spotify_etl.cli import port_number, whole

    parser.add_argument("--port", type=port_number, default=8765)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--users",
        type=whole(1, MAX_USERS),
        default=1,
        help=f"users of the app, each with an account of their own (1 to {MAX_USERS}, as "
        "Development Mode allows; default 1)",
    )
    parser.add_argument(
        "--accounts-file",
        type=Path,
        metavar="PATH",
        help="write every user's refresh token to PATH (mode 0600), for SPOTIFY_ACCOUNTS_FILE",
    )
    parser.add_argument(
        "--export",
        type=Path,
        metavar="PATH",
        help="also write the account's privacy export (a year of history before its plays, "
        "the zip Spotify sends) to PATH, for `spotify-etl import PATH`",
    )
    parser.add_argument(
        "--user", metavar="ID", help="whose privacy export --export writes (default: the first)"
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


def _write_export(emulator, path: Path, user_id: str | None) -> None:
    """A served account's privacy export, consistent with the plays it answers."""
    from emulator.export import export_entries, write_export

    now = emulator.clock()
    write_export(emulator.world, path, now, user_id=user_id)
    entries = len(export_entries(emulator.world, now, user_id=user_id))
    whose = "the account's" if user_id is None else f"{user_id}'s"
    told = f"wrote {whose} privacy export, {entries:,} entries, to {path}: "
    output.line(told, (f"spotify-etl import {path}", "bold"))


def _check_paths(args: argparse.Namespace) -> None:
    """Fail before serving on what would fail after it."""
    for option, path in (("--export", args.export), ("--accounts-file", args.accounts_file)):
        if path and not path.parent.is_dir():
            raise ConfigError(f"{path.parent} is not a folder: give {option} a path in one")
    if args.user and not args.export:
        raise ConfigError("--user says whose privacy export to write: give --export PATH too")


def _check_user(emulator, user_id: str | None) -> None:
    known = [user.user_id for user in emulator.users]
    if user_id is not None and user_id not in known:
        raise ConfigError(f"--user {user_id} is none of the users: {', '.join(known)}")


def _tell_users(emulator, accounts_file: Path | None) -> dict[str, str]:
    """Say who the users are and where their tokens went; the variable naming that file."""
    if accounts_file:
        emulator.write_accounts_file(accounts_file)
        output.line(f"wrote {len(emulator.users)} users' refresh tokens to {accounts_file}")
        return {"SPOTIFY_ACCOUNTS_FILE": str(accounts_file.resolve())}
    if len(emulator.users) > 1:
        output.line(f"{len(emulator.users)} users (--accounts-file PATH writes their tokens "
                    "to a SPOTIFY_ACCOUNTS_FILE):")  # fmt: skip
        for user in emulator.users:
            output.line(f"  {user.user_id}  {user.refresh_token}  ", user.display_name)
    return {}


def serve(args: argparse.Namespace) -> int:
    """Serve until interrupted, after printing the variables that point the pipeline at it."""
    from emulator import Emulator, Faults, Scale

    _check_paths(args)
    emulator = Emulator(
        seed=args.seed,
        port=args.port,
        users=args.users,
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
    _check_user(emulator, args.user)
    try:
        emulator.start()
    except OSError as error:
        raise ConfigError(
            f"cannot listen on 127.0.0.1:{args.port} ({error.strerror}): "
            "pass --port with a free port"
        ) from None
    if args.export:
        _write_export(emulator, args.export, args.user)
    accounts = _tell_users(emulator, args.accounts_file)
    output.console.print("Spotify emulator serving; point the pipeline at it with:\n")
    # It has no rate limit to keep under: unpaced, a run takes no longer than its requests.
    variables = {**emulator.variables(), **accounts, "SPOTIFY_RATE_LIMIT": "0"}
    exports = (f"export {name}={value}" for name, value in variables.items())
    print("\n".join(exports) + "\n", flush=True)
    output.console.print("Ctrl-C stops it.")
    try:
        emulator.wait()
    finally:
        emulator.stop()
    return 0
