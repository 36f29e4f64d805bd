"""The extract lease: one extract at a time for the whole app, whatever starts it.

Spotify's rate limit is the app's, and every extract rewrites the same state, so a schedule,
a queued run, `POST /runs` and the command line all take one lease in the lake before they
ask Spotify anything: `state/extract-lease.json`, naming the run that holds it and until
when. Taking it is a conditional write (create it if absent, else replace the version read
if it was released or has expired), so of two runs taking it at once exactly one wins; the
other is told who holds it and ends at once. A holder that crashed never releases it: the
lease expires past the longest the holder can run (the Lambda's remaining time when it
started, else LOCAL_SPAN), and the next run overtakes it, again conditionally, so two
overtakers cannot both win. The lake deletes nothing, so releasing marks the lease released.

A run that Spotify told to wait longer than it could (a long `Retry-After`, answered for one
account) releases the lease holding the app until then: every account's next run is skipped
until it has passed, as Spotify's limit is the app's.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import orjson

from chalicelib.errors import ConflictError, NotFoundError
from chalicelib.lake import Lake
from chalicelib.raw import iso_utc

LEASE = "state/extract-lease.json"  # the app's, for every account's extracts
MARGIN = timedelta(seconds=60)  # past the holder's deadline, for clocks and the last write
# A run with no deadline (the command line, a local POST /runs) holds the lease this long;
# past it another run may overtake, and the state's conditional writes still lose nothing.
LOCAL_SPAN = timedelta(hours=1)
ATTEMPTS = 3  # each lost race means another run took the lease: read again, once or twice


@dataclass(frozen=True)
class Holder:
    """The run holding the lease, and until when."""

    run_id: str
    expires_at: str
    held_by_spotify: bool = False  # released, but holding the app until Retry-After passed


class LeaseHeldError(ConflictError):
    """Another extract holds the lease, or Spotify holds the app; this one must not start."""

    def __init__(self, holder: Holder):
        if holder.held_by_spotify:
            message = (
                f"skipped: Spotify asked the app to wait until {holder.expires_at} (a "
                f"Retry-After answered to run {holder.run_id}, for every account); this run "
                "asked Spotify nothing"
            )
        else:
            message = (
                f"skipped: extract run {holder.run_id} holds the extract lease "
                f"(until {holder.expires_at} at the latest); this run asked Spotify nothing"
            )
        super().__init__(message)
        self.holder = holder


class Lease:
    """The lease one run holds: taken by `take`, given back by `release`."""

    def __init__(self, lake: Lake, run_id: str, version: str):
        self._lake = lake
        self._run_id = run_id
        self._version = version

    @classmethod
    def take(cls, lake: Lake, run_id: str, now: datetime, remaining: Callable[[], float]) -> Lease:
        """The lease for `run_id`, or LeaseHeldError naming the run that holds it."""
        left = remaining()
        span = LOCAL_SPAN if math.isinf(left) else timedelta(seconds=left)
        document = _document(run_id, iso_utc(now + span + MARGIN))
        for _ in range(ATTEMPTS):
            try:
                current, version = lake.get_versioned(LEASE)
            except NotFoundError:
                current, version = None, None
            holder = _holder(current)
            if holder is not None and datetime.fromisoformat(holder.expires_at) > now:
                raise LeaseHeldError(holder)
            try:
                taken = lake.put(LEASE, document, if_match=version, if_none_match=version is None)
            except ConflictError:
                continue
            return cls(lake, run_id, taken)
        raise ConflictError(f"{LEASE} kept changing under {ATTEMPTS} attempts to take it")

    def release(self, hold_until: datetime | None = None) -> None:
        """Give the lease back, unless another run overtook it since (then it is theirs);
        holding the app until `hold_until` where Spotify asked this run to wait till then."""
        document: dict[str, str] = {"released_by": self._run_id}
        if hold_until is not None:
            document["hold_until"] = iso_utc(hold_until)
        released = orjson.dumps(document)
        with contextlib.suppress(ConflictError):
            self._lake.put(LEASE, released, if_match=self._version)


def _document(run_id: str, expires_at: str) -> bytes:
    return orjson.dumps({"run_id": run_id, "expires_at": expires_at})


def _holder(data: bytes | None) -> Holder | None:
    """Who holds the lease in this document; None when it is released (or there is none)."""
    lease = orjson.loads(data) if data else {}
    if "hold_until" in lease:
        return Holder(lease["released_by"], lease["hold_until"], held_by_spotify=True)
    if "run_id" not in lease:
        return None
    return Holder(lease["run_id"], lease["expires_at"])
