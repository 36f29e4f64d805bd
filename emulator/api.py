"""The /v1 endpoints: routing, paging and answers, independent of HTTP."""

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import urlencode

from emulator.account import (
    RETRIEVABLE_PLAYS,
    TIME_RANGES,
    TOP_TYPES,
    Account,
    Play,
    Playlist,
)
from emulator.ids import is_spotify_id
from emulator.render import Json, Renderer

MAX_LIMIT = 50
EMBEDDED_ENTRIES = 100
REMOVED_MESSAGE = "This endpoint is not available to apps in Development Mode"
MOVED_MESSAGE = "This endpoint has moved: use GET /v1/playlists/{playlist_id}/items"


class ApiError(Exception):
    """An error answered as {"error": {"status", "message"}}."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


@dataclass
class Request:
    """A /v1 request reduced to what the endpoints need."""

    path: str
    query: dict[str, str]
    account: Account
    user_token: bool
    params: dict[str, str] = field(default_factory=dict)


Handler = Callable[["Api", Request], Json]


@dataclass(frozen=True)
class Route:
    """A GET endpoint: its templated path and its handler."""

    template: str
    handler: Handler
    user_only: bool = False

    @cached_property
    def pattern(self) -> re.Pattern[str]:
        """The template as a regular expression with named groups; a trailing slash is
        ignored, as Spotify ignores it (spotipy's `me()` asks for `/v1/me/`)."""
        regex = re.sub(r"\\\{(\w+)\\\+\\\}", r"(?P<\1>.+)", re.escape(self.template))
        return re.compile(re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", regex) + "/?$")


def _removed(api: "Api", request: Request) -> Json:
    raise ApiError(403, REMOVED_MESSAGE)


def _moved(api: "Api", request: Request) -> Json:
    raise ApiError(410, MOVED_MESSAGE)


def _int_param(query: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = query.get(name, str(default))
    if not raw.lstrip("-").isdigit() or not low <= int(raw) <= high:
        raise ApiError(400, f"Invalid {name}")
    return int(raw)


class Api:
    """Answers /v1 GET requests from the account model."""

    def __init__(self, renderer: Renderer, origin: str) -> None:
        self.render, self.origin = renderer, origin

    def _url(self, path: str, query: dict[str, str], **changes: Any) -> str:
        merged = {k: v for k, v in query.items() if k not in changes}
        merged.update({k: str(v) for k, v in changes.items()})
        return f"{self.origin}{path}?{urlencode(merged)}" if merged else self.origin + path

    def page(self, request: Request, items: Sequence[Any], render: Callable[[Any], Json],
             path: str | None = None, limit: int | None = None) -> Json:  # fmt: skip
        """A paging object over `items`, with absolute next/previous links."""
        query = request.query if limit is None else {}
        limit = limit or _int_param(query, "limit", 20, 1, MAX_LIMIT)
        offset = _int_param(query, "offset", 0, 0, 10**9)
        path, total = path or request.path, len(items)
        more = offset + limit < total
        return {
            "href": self._url(path, query, offset=offset, limit=limit),
            "items": [render(item) for item in items[offset : offset + limit]],
            "limit": limit,
            "next": self._url(path, query, offset=offset + limit, limit=limit) if more else None,
            "offset": offset,
            "previous": self._url(path, query, offset=max(0, offset - limit), limit=limit)
            if offset > 0
            else None,
            "total": total,
        }

    def me(self, request: Request) -> Json:
        """GET /v1/me."""
        user = request.account.user
        return {
            **self.render.user(user),
            "account_id": user.id[-10:],
            "country": "SE",
            "email": f"{user.id}@example.com",
            "explicit_content": {"filter_enabled": False, "filter_locked": False},
            "followers": {"href": None, "total": 12},
            "images": [],
            "product": "premium",
        }

    def my_playlists(self, request: Request) -> Json:
        """GET /v1/me/playlists."""
        return self.page(request, request.account.playlists, self.render.playlist_simple)

    def _playlist(self, request: Request) -> Playlist:
        playlist = request.account.playlist(request.params["id"])
        if playlist is None:
            raise ApiError(404, "Resource not found")
        return playlist

    def _entry_renderer(self, request: Request, field_names: str) -> Callable[[Any], Json]:
        with_episodes = "episode" in request.query.get("additional_types", "").split(",")
        return lambda entry: self.render.entry(entry, field_names, with_episodes)

    def playlist(self, request: Request) -> Json:
        """GET /v1/playlists/{id}: metadata and the first entries, if the user may read them."""
        playlist = self._playlist(request)
        path = f"/v1/playlists/{playlist.id}/items"
        render = self._entry_renderer(request, playlist.entry_field)
        page = self.page(request, playlist.entries, render, path, EMBEDDED_ENTRIES)
        if page["next"]:
            page["next"] = self._url(path, {}, offset=EMBEDDED_ENTRIES, limit=MAX_LIMIT)
        if not playlist.readable or not request.user_token:
            page.update(items=[], next=None)
        return self.render.playlist(playlist, page)

    def playlist_items(self, request: Request) -> Json:
        """GET /v1/playlists/{id}/items: only for playlists the user owns or collaborates on."""
        playlist = self._playlist(request)
        if not playlist.readable or not request.user_token:
            raise ApiError(403, "Forbidden: you can only read items of playlists you own "
                                "or collaborate on")  # fmt: skip
        render = self._entry_renderer(request, playlist.entry_field)
        return self.page(request, playlist.entries, render)

    def recently_played(self, request: Request) -> Json:
        """GET /v1/me/player/recently-played, with Unix-millisecond cursors."""
        limit = _int_param(request.query, "limit", 20, 1, RETRIEVABLE_PLAYS)
        after = _int_param(request.query, "after", 0, 0, 10**15)
        before = _int_param(request.query, "before", 10**15, 0, 10**15)
        plays = [p for p in request.account.recent_plays if after < p.played_at_ms < before]
        shown = plays[:limit]
        return {
            "href": self._url(request.path, request.query),
            "items": [self.render.play(p) for p in shown],
            "limit": limit,
            "next": self._url(request.path, request.query, before=shown[-1].played_at_ms)
            if len(plays) > limit
            else None,
            "cursors": self._cursors(shown),
        }

    @staticmethod
    def _cursors(shown: list[Play]) -> dict[str, str] | None:
        if not shown:
            return None
        return {"after": str(shown[0].played_at_ms), "before": str(shown[-1].played_at_ms)}

    def top(self, request: Request) -> Json:
        """GET /v1/me/top/{type}."""
        kind = request.params["type"]
        time_range = request.query.get("time_range", "medium_term")
        if kind not in TOP_TYPES:
            raise ApiError(400, "Unsupported type: use artists or tracks")
        if time_range not in TIME_RANGES:
            raise ApiError(400, "Invalid time_range")
        catalog = self.render.catalog
        if kind == "artists":
            return self.page(request, request.account.top[kind, time_range],
                             lambda a: self.render.artist(catalog.artists[a]))  # fmt: skip
        return self.page(request, request.account.top[kind, time_range],
                         lambda t: self.render.track(catalog.tracks[t]))  # fmt: skip

    def saved_tracks(self, request: Request) -> Json:
        """GET /v1/me/tracks, newest first."""
        return self.page(request, request.account.saved, self.render.saved_track)

    def _lookup(self, request: Request, table: dict[str, Any]) -> Any:
        object_id = request.params["id"]
        if not is_spotify_id(object_id):
            raise ApiError(400, "Invalid base62 id")
        if object_id not in table:
            raise ApiError(404, "Resource not found")
        return table[object_id]

    def artist(self, request: Request) -> Json:
        """GET /v1/artists/{id}."""
        return self.render.artist(self._lookup(request, self.render.catalog.artists))

    def track(self, request: Request) -> Json:
        """GET /v1/tracks/{id}."""
        return self.render.track(self._lookup(request, self.render.catalog.tracks))

    def _album_tracks(self, request: Request, path: str, limit: int | None) -> Json:
        album = self._lookup(request, self.render.catalog.albums)
        tracks = [self.render.catalog.tracks[t] for t in album.track_ids]
        return self.page(request, tracks, self.render.track_simple, path, limit)

    def album(self, request: Request) -> Json:
        """GET /v1/albums/{id}, with its first page of tracks."""
        album = self._lookup(request, self.render.catalog.albums)
        page = self._album_tracks(request, f"/v1/albums/{album.id}/tracks", MAX_LIMIT)
        return self.render.album(album, page)

    def album_tracks(self, request: Request) -> Json:
        """GET /v1/albums/{id}/tracks."""
        return self._album_tracks(request, request.path, None)


ROUTES = (
    Route("/v1/me", Api.me, user_only=True),
    Route("/v1/me/playlists", Api.my_playlists, user_only=True),
    Route("/v1/me/player/recently-played", Api.recently_played, user_only=True),
    Route("/v1/me/top/{type}", Api.top, user_only=True),
    Route("/v1/me/tracks", Api.saved_tracks, user_only=True),
    Route("/v1/playlists/{id}", Api.playlist),
    Route("/v1/playlists/{id}/items", Api.playlist_items),
    Route("/v1/playlists/{id}/tracks", _moved),
    Route("/v1/artists/{id}", Api.artist),
    Route("/v1/albums/{id}", Api.album),
    Route("/v1/albums/{id}/tracks", Api.album_tracks),
    Route("/v1/tracks/{id}", Api.track),
    *(
        Route(template, _removed)
        for template in (
            "/v1/tracks", "/v1/albums", "/v1/artists", "/v1/artists/{id}/top-tracks",
            "/v1/artists/{id}/related-artists", "/v1/users/{id}", "/v1/users/{id}/playlists",
            "/v1/browse/{rest+}", "/v1/audio-features", "/v1/audio-features/{id}",
            "/v1/audio-analysis/{id}", "/v1/recommendations", "/v1/recommendations/{rest+}",
        )  # fmt: skip
    ),
)


def match(path: str) -> tuple[Route, dict[str, str]] | None:
    """The route serving `path` and its path parameters, if any."""
    for route in ROUTES:
        found = route.pattern.match(path)
        if found:
            return route, found.groupdict()
    return None
