"""The runs of one snapshot date, and which of them a day's snapshot partitions come from.

Each snapshot table of a day holds the snapshot of the latest complete snapshot run of that
day that extracted the table's streams (a run asked for `top` only does not empty the day's
playlists); plays runs and partial runs never provide one.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from chalicelib import raw, streams
from chalicelib.lake import Lake
from chalicelib.schema import SNAPSHOT_TABLES
from chalicelib.transform.quarantine import is_quarantined
from chalicelib.transform.read import read_manifest


def day_manifests(
    lake: Lake, snapshot_date: str, *, keep: Collection[str] = (), known: Collection[str] = ()
) -> list[raw.Manifest]:
    """The day's manifests that parse and are not quarantined (the `keep` runs regardless),
    but for the `known` runs', which are not read."""
    keys = (k for k in lake.list(f"{raw.RAW}/{snapshot_date}/") if raw.is_manifest_key(k))
    manifests = []
    for key in sorted(keys):
        if raw.run_of_manifest(key)[1] in known:
            continue
        manifest = read_manifest(lake, key)
        if manifest and (manifest.run_id in keep or not is_quarantined(lake, manifest.run_id)):
            manifests.append(manifest)
    return manifests


def snapshot_tables_of(manifest: raw.Manifest | None) -> list[str]:
    """The snapshot tables this run can provide: a complete snapshot run's, for its streams."""
    if (
        manifest is None
        or manifest.kind != raw.SNAPSHOT
        or manifest.status != raw.MANIFEST_COMPLETE
    ):
        return []
    named = set(manifest.streams)
    return [t for t in SNAPSHOT_TABLES if not named or named & streams.sources(t)]


def snapshot_runs(provides: Mapping[str, Collection[str]]) -> dict[str, str]:
    """For each snapshot table, the run whose snapshot the day's partition holds, of the runs
    given with the snapshot tables each can provide: the latest that can."""
    chosen: dict[str, str] = {}
    for run_id in sorted(provides):
        for table in provides[run_id]:
            chosen[table] = run_id
    return chosen
