"""Each stream's reader: a generator over its pages, saying what to ask, how to page and what
to carry between runs.

A reader asks through the client (spotipy's public methods) and yields what the run is to do:

- `Page`: land this answer; the run sends back its `raw.Part`.
- `Carried`: list again an answer an earlier run landed; for a page of items, the run sends
  back the catalog objects it references (read from the page if the bookmark kept none).
- `Fork`: run these readers side by side; the run sends back what each returned.
- `Checkpoint`: the stream's bookmark from here on (all of it, or one partition's).
- `Withheld`: a playlist whose items the API withholds; `Problem`: an error the run records
  and goes past.

A reader receives its stream's bookmark (what its last run kept, a JSON object, empty the
first time) and knows nothing of the lake, the manifest or locks (chalicelib.spotify.extract).
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from chalicelib import raw
from chalicelib.errors import CutShortError, SpotifyError
from chalicelib.spotify.catalog import CATALOG_STREAMS, WANTED, References

if TYPE_CHECKING:
    from chalicelib.spotify.client import SpotifyClient

PAGE = 50
TIME_RANGES = ("short_term", "medium_term", "long_term")
ITEM_TYPES = ("track", "episode")  # a playlist's episodes come as episodes, not as tracks
FULL_READ = timedelta(days=7)  # saved tracks are read in full at least this often

Json = dict[str, Any]


@dataclass(frozen=True)
class Page:
    """An answer to land as `name` in the run's folder, with the catalog objects it references."""

    name: str
    stream: str
    answer: Json
    refs: References | None = None
    playlist_id: str | None = None
    time_range: str | None = None
    offset: int = 0


@dataclass(frozen=True)
class Carried:
    """An answer an earlier run landed. A page of items says where its tracks are
    (`item_key`) and the catalog its bookmark kept for it (None: read it from the page)."""

    key: str
    stream: str
    item_key: str | None = None
    catalog: dict[str, list[str]] | None = None
    playlist_id: str | None = None
    offset: int = 0


@dataclass(frozen=True)
class Fork:
    readers: list[Reader]


@dataclass(frozen=True)
class Checkpoint:
    """The bookmark from here on: all of it, or the value of one `partition` (a playlist)."""

    bookmark: Json
    partition: str | None = None


@dataclass(frozen=True)
class Withheld:
    playlist_id: str


@dataclass(frozen=True)
class Problem:
    message: str


Item = Page | Carried | Fork | Checkpoint | Withheld | Problem
Reader = Generator[Item, Any, Any]


@dataclass(frozen=True)
class Context:
    """What every reader of a run may know: the user, when the run started, and the
    playlists it was told to read (None: all of the user's)."""

    user: Json
    now: datetime
    playlists: tuple[str, ...] | None = None


def me(client: SpotifyClient, user: Json | None = None) -> Reader:
    """The user, whom every run reads first: playlists are theirs or withheld. `user` is
    the answer where the run asked already (to learn whose account it is)."""
    user = user if user is not None else client.get("me")
    yield Page("me", raw.ME, user)
    return user


def playlists(client: SpotifyClient, context: Context, bookmark: Json) -> Reader:
    """Playlist metadata, then the items of each changed playlist the API serves items for.

    Bookmark: by playlist ID, the `snapshot_id` its items were read at and their `pages`,
    and, while only some are read, the offset to read `next`.
    """
    listed = yield from _playlist_metadata(client, context.playlists)
    readable = []
    for playlist in listed:
        owner = (playlist.get("owner") or {}).get("id")
        if owner != context.user.get("id") and not playlist.get("collaborative"):
            yield Withheld(playlist["id"])
        else:
            readable.append(playlist)
    yield Fork([_playlist_items(client, p, bookmark.get(p["id"])) for p in readable])


def plays(client: SpotifyClient, context: Context, bookmark: Json) -> Reader:
    """Recently played after the cursor. Bookmark: `after`, the newest play seen (Unix ms)."""
    after = bookmark.get("after")
    played = [] if after is None else [after]
    pages = client.pages("current_user_recently_played", limit=PAGE, after=after or None)
    for index, (_, page) in enumerate(pages):
        items = page.get("items") or []
        refs = References.of_page(items, "track", WANTED)
        refs.played.update(
            track_id
            for item in items
            if (track := (item or {}).get("track")) and (track_id := raw.requested(track).get("id"))
        )
        yield Page(f"plays/page-{index:04d}", raw.PLAYS, page, refs)
        played.extend(ms for ms in map(_epoch_ms, (i.get("played_at") for i in items)) if ms)
    if played:
        yield Checkpoint({"after": max(played)})


def top(client: SpotifyClient, context: Context, bookmark: Json) -> Reader:
    """The top tracks and artists over each time range, side by side."""
    ranges = [(kind, time_range) for kind in ("tracks", "artists") for time_range in TIME_RANGES]
    yield Fork([_top(client, kind, time_range) for kind, time_range in ranges])


def saved(client: SpotifyClient, context: Context, bookmark: Json) -> Reader:
    """Saved tracks newest first, until one already known; then the known rest is carried.

    If the counts do not add up to the API's total (a track was removed), if too many pages
    would be carried, or if the last full read is a week old, all is read. Bookmark: the
    `pages` holding the saved tracks, their `known` (track ID, added_at) pairs, the `total`
    and when they were last read in full (`read_at`).
    """
    known: set[tuple[str, str]] | None = None
    if bookmark and context.now - datetime.fromisoformat(bookmark["read_at"]) <= FULL_READ:
        known = {(track_id, added_at) for track_id, added_at in bookmark["known"]}
    pages: list[Json] = []
    seen: set[tuple[str, str]] = set()
    total = 0
    for offset, page in client.pages("current_user_saved_tracks", limit=PAGE):
        name = f"saved/page-{offset:05d}"
        pages.append((yield from _page_of_items(name, raw.SAVED_TRACKS, page, "track", offset)))
        total = page.get("total", 0)
        pairs = [_saved_pair(item) for item in page.get("items") or []]
        seen.update(pairs)
        if known is not None and any(pair in known for pair in pairs):
            fresh = len(seen - known)
            carried = len(bookmark["pages"]) + len(pages)
            if fresh + len(known) == total and carried <= _pages_for(total) * 2:
                remembered = yield from _carry(bookmark["pages"], raw.SAVED_TRACKS, "track")
                pairs_kept = sorted(known | seen)
                yield Checkpoint(
                    {**bookmark, "total": total, "pages": remembered + pages, "known": pairs_kept}
                )
                return
            known = None  # read them all
    yield Checkpoint(
        {"total": total, "pages": pages, "known": sorted(seen), "read_at": context.now.isoformat()}
    )


def full_object(
    client: SpotifyClient, kind: str, item_id: str, stream: str, kept: str | None
) -> Reader:
    """One full object (`kind` of CATALOG_KINDS), landing as `stream`; the raw key of its
    answer is returned. One the API no longer has keeps its earlier answer (`kept`), if any."""
    answer = yield from _optional(client, kind[:-1], item_id)
    if answer is not None:
        part = yield Page(f"{kind}/{item_id}", stream, answer)
        return part.key
    if kept is not None:
        yield Carried(kept, CATALOG_STREAMS[kind])
    return kept


def _playlist_metadata(client: SpotifyClient, ids: tuple[str, ...] | None) -> Reader:
    """The playlists listed, each once: the user's, or those of `ids` the API still has."""
    found: dict[str, Json] = {}
    if ids is None:
        for offset, page in client.pages("current_user_playlists", limit=PAGE):
            yield Page(f"playlists/page-{offset:05d}", raw.PLAYLISTS, page, offset=offset)
            for playlist in page.get("items") or []:
                if playlist and playlist.get("id"):
                    found.setdefault(playlist["id"], playlist)
        return list(found.values())
    listed = []
    for playlist_id in ids:
        playlist = yield from _optional(
            client, "playlist", playlist_id, additional_types=ITEM_TYPES
        )
        if playlist is not None:
            name = f"playlists/{playlist_id}"
            yield Page(name, raw.PLAYLISTS, playlist, playlist_id=playlist_id)
            listed.append(playlist)
    return listed


def _playlist_items(client: SpotifyClient, playlist: Json, known: Json | None) -> Reader:
    """A playlist's items: carried when its `snapshot_id` is the one they were read at; where
    a run cut short read only some (`next` is the offset it stopped at), those are carried
    and the rest read."""
    playlist_id, snapshot_id = playlist["id"], playlist.get("snapshot_id")
    pages: list[Json] = []
    start = 0
    if known is not None and snapshot_id and known["snapshot_id"] == snapshot_id:
        pages = yield from _carry(known["pages"], raw.PLAYLIST_ITEMS, "item", playlist_id)
        if "next" not in known:
            yield Checkpoint({"snapshot_id": snapshot_id, "pages": pages}, playlist_id)
            return
        start = known["next"]
    items = client.pages(
        "playlist_items", playlist_id, limit=PAGE, offset=start, additional_types=ITEM_TYPES
    )
    try:
        for offset, page in items:
            name = f"playlist_items/{playlist_id}/page-{offset:05d}"
            landed = _page_of_items(name, raw.PLAYLIST_ITEMS, page, "item", offset, playlist_id)
            pages.append((yield from landed))
            if snapshot_id and page.get("next"):  # where a run cut short here resumes
                after = offset + len(page.get("items") or [])
                read = {"snapshot_id": snapshot_id, "pages": list(pages), "next": after}
                yield Checkpoint(read, playlist_id)
    except SpotifyError as error:
        if error.status not in (403, 404) or isinstance(error, CutShortError):
            raise
        if error.status == 404:
            yield Problem(f"playlist {playlist_id} vanished while being read: {error}")
        yield Withheld(playlist_id)
        return
    if snapshot_id:
        yield Checkpoint({"snapshot_id": snapshot_id, "pages": pages}, playlist_id)


def _top(client: SpotifyClient, kind: str, time_range: str) -> Reader:
    stream = raw.TOP_TRACKS if kind == "tracks" else raw.TOP_ARTISTS
    pages = client.pages(f"current_user_top_{kind}", limit=PAGE, time_range=time_range)
    for offset, page in pages:
        items = [item for item in page.get("items") or [] if item]
        refs = References()
        if kind == "artists":
            refs.add_artists(items, WANTED, full=True)
        else:
            for item in items:
                refs.add_track(item, WANTED)
        name = f"top/{kind}-{time_range}-{offset:05d}"
        yield Page(name, stream, page, refs, time_range=time_range, offset=offset)


def _page_of_items(
    name: str, stream: str, page: Json, item_key: str, offset: int, playlist_id: str | None = None
) -> Reader:
    """Land a page of items (saved tracks, a playlist's entries); returns how the bookmark
    keeps it: its raw key, offset and the catalog objects it references."""
    refs = References.of_page(page.get("items") or [], item_key)
    part = yield Page(name, stream, page, refs, playlist_id=playlist_id, offset=offset)
    return {"key": part.key, "offset": offset, "catalog": refs.catalog()}


def _carry(
    pages: list[Json], stream: str, item_key: str, playlist_id: str | None = None
) -> Reader:
    """List again the pages a bookmark keeps; returns them with their catalog objects."""
    carried = []
    for page in pages:
        catalog = yield Carried(
            page["key"], stream, item_key, page.get("catalog"), playlist_id, page["offset"]
        )
        carried.append({**page, "catalog": catalog})
    return carried


def _optional(client: SpotifyClient, method: str, item_id: str, **params: Any) -> Reader:
    """spotipy's getter of one object (`playlist`, `album`, ...), or None with a Problem
    when the object is gone or its ID invalid."""
    try:
        return client.get(method, item_id, **params)
    except SpotifyError as error:
        if error.status not in (400, 404) or isinstance(error, CutShortError):
            raise
        yield Problem(f"{method} {item_id}: {error}")
        return None


def _pages_for(total: int) -> int:
    return max(1, -(-total // PAGE))


def _saved_pair(item: Json | None) -> tuple[str, str]:
    item = item or {}
    return (raw.requested(item.get("track") or {}).get("id") or "", item.get("added_at") or "")


def _epoch_ms(value: str | None) -> int | None:
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return int(parsed.timestamp() * 1000)
