"""Landing a privacy export in raw/, redacted, as one run of kind `import`.

    raw/<import_date>/<import_id>/history/<nnnn>.json.gz   one export file each, redacted
    raw/<import_date>/<import_id>/manifest.json            written last, as a run's

The transform then reads it like any run (its parts are of the raw stream `history`) and
merges its plays into `plays`. `state/imported_tracks/<import_id>.json` lists the tracks
its plays name, which the snapshot runs then fetch within their detail budget. The
import's record in runs/ says how many files and entries it landed; the transform adds how
many became plays. A file that cannot be read stops the import before its manifest: what
landed stays in raw/ untransformed, the tables are as they were, and quarantine/<import_id>/
holds the reason (only the reason: a file that cannot be read cannot be redacted, so none
of it is copied).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime

from chalicelib import raw
from chalicelib.errors import LakeError, ValidationError
from chalicelib.history.export import BadExport, ExportFile, entries
from chalicelib.lake import Lake, put_json
from chalicelib.runs import RunRecord, RunStore
from chalicelib.spotify.state import save_imported_tracks

STREAMS = ["history"]
TRACK_URI = "spotify:track:"
# An export's files are large and written once: the fastest gzip level, which costs them
# about a third more bytes than the default (chalicelib.lake.put_json).
FAST = 1


def land(
    lake: Lake,
    read: Callable[[], Iterable[ExportFile]],
    *,
    started: datetime,
    now: Callable[[], datetime],
    progress: Callable[[str, int], None] | None = None,
    kept: str = "",
    account: str | None = None,
) -> RunRecord:
    """Land the files `read` gives, redacted, then the manifest, into `account`'s view of
    the lake; the import's record: failed, with the reason, when they are not an extended
    export or one cannot be read (and `kept`, where the export stays, is said there)."""
    store = RunStore(lake)
    import_id = raw.new_run_id(started)
    record = RunRecord.started(import_id, raw.IMPORT, STREAMS, started)
    record.account = account
    store.save(record)
    manifest = raw.Manifest(
        run_id=import_id,
        kind=raw.IMPORT,
        snapshot_date=record.snapshot_date or "",
        started_at=raw.iso_utc(started),
        streams=STREAMS,
    )
    folder = raw.run_folder(manifest.snapshot_date, import_id)
    counts = {"files": 0, "entries": 0}
    tracks: Counter[str] = Counter()
    try:
        for file in read():
            redacted = entries(file)
            key = f"{folder}history/{counts['files']:04d}.json.gz"
            put_json(lake, key, redacted, compress=True, level=FAST)
            manifest.parts.append(raw.Part(key=key, stream=raw.HISTORY))
            counts["files"] += 1
            counts["entries"] += len(redacted)
            tracks.update(_track_ids(redacted))
            if progress:
                progress(file.name, len(redacted))
    except BadExport as bad:
        _quarantine(lake, import_id, manifest.key, bad, now())
        record.failed(f"{bad}; nothing of this export was imported{kept}", now())
        store.save(record)
        return record
    except ValidationError as refused:
        record.failed(f"{refused}{kept}", now())
        store.save(record)
        return record
    save_imported_tracks(lake, import_id, dict(tracks))
    manifest.finished_at = raw.iso_utc(now())
    # The record is saved before the manifest, whose event starts the transform: that record
    # is then the import's last word, and the transform's save always comes after it.
    record.extracted(manifest, counts, [])
    store.save(record)
    try:
        put_json(lake, manifest.key, manifest.to_json())
    except LakeError as error:
        record.failed(f"its manifest could not be written: {error}", now())
        store.save(record)
        raise
    return record


def _track_ids(redacted: list[dict]) -> Iterator[str]:
    """The IDs of the tracks the entries that become plays name (chalicelib.transform.parse,
    `history`, says which do)."""
    for entry in redacted:
        uri = entry.get("spotify_track_uri")
        if isinstance(uri, str) and uri.startswith(TRACK_URI) and not entry.get("incognito_mode"):
            yield uri[len(TRACK_URI) :]


def _quarantine(
    lake: Lake, import_id: str, manifest_key: str, bad: BadExport, at: datetime
) -> None:
    """The reason, in the quarantine's own shape (chalicelib.transform.quarantine)."""
    from chalicelib.transform.quarantine import REASON, quarantine_prefix

    reason = {
        "run_id": import_id,
        "manifest": manifest_key,
        "quarantined_at": raw.iso_utc(at),
        "problems": [{"key": bad.name, "reason": bad.reason}],
    }
    put_json(lake, f"{quarantine_prefix(import_id)}{REASON}", reason)
