"""Replacing partitions that several transforms may write at once, without losing a write.

The plays partitions, the day's catalog and the day's snapshot are each read, merged with
what this run brings and written back: a read-modify-write. Two transforms doing that at
once (two S3 events landing together, a replay during a live run) could each read the old
partition and the second write would drop the first one's rows. So every such write is
conditional on the partition being unchanged since it was read (`If-Match` on S3, or
`If-None-Match` for a partition that did not exist), and a lost race reads again and
redoes the merge. This is optimistic concurrency: no lock table to create, nothing to
clean up after a crashed Lambda, and each conflict means another writer got through, so
the writers as a whole always make progress.

The `build` callback runs after the versions are read: whatever it lists (the day's
manifests, its digests) is at least as new as the partitions it replaces, so a run whose
digest or manifest landed in between is either seen or makes this write conflict.
"""

from __future__ import annotations

from collections.abc import Callable

from chalicelib.errors import ConflictError, NotFoundError
from chalicelib.lake import Lake

# Each conflict means another transform wrote the partition; this many in a row means the
# day is busier than any schedule makes it, and the Lambda's own retry takes over.
ATTEMPTS = 10

Build = Callable[[dict[str, bytes | None]], dict[str, bytes]]


def commit(lake: Lake, keys: list[str], build: Build) -> dict[str, bytes]:
    """Write the objects `build` makes from the current ones, each only if still current.

    `build` gets the current bytes of every key (None where missing) and returns the new
    bytes of the keys to replace; unchanged objects are not rewritten. Returns what it wrote
    or found equal; raises ConflictError after ATTEMPTS lost races.
    """
    for _ in range(ATTEMPTS):
        current = {key: _read(lake, key) for key in keys}
        wanted = build({key: data for key, (data, _) in current.items()})
        try:
            for key, data in wanted.items():
                old, version = current[key]
                if data != old:
                    lake.put(key, data, if_match=version, if_none_match=version is None)
        except ConflictError:
            continue
        return wanted
    raise ConflictError(
        f"{len(keys)} partitions ({keys[0]}, ...) kept changing under {ATTEMPTS} attempts"
    )


def _read(lake: Lake, key: str) -> tuple[bytes | None, str | None]:
    try:
        return lake.get_versioned(key)
    except NotFoundError:
        return None, None
