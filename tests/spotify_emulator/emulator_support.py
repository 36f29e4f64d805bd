"""Helpers for the emulator tests: a fake clock, a schema validator, HTTP shortcuts."""

import copy
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import requests
import yaml
from openapi_schema_validator import OAS30Validator

import emulator
from emulator import Emulator

START = 1_767_225_600.0 + 10 * 3600  # 2026-01-01T10:00:00Z
SPEC_PATH = Path(emulator.__file__).parent / "openapi" / "spotify-web-api-openapi.yml"

# Spotify's description does not say so, but in 2026 these fields come back null
# (local files, very old playlists, removed tracks, plays without a context)...
NULL_IN_PRACTICE = {
    "PlaylistTrackObject": ("added_at", "added_by", "item", "track"),
    "PlayHistoryObject": ("context",),
    "CursorPagingObject": ("next", "cursors"),
    "TrackObject": ("id", "href"),
    "AlbumBase": ("id", "href", "uri", "album_type", "release_date", "release_date_precision"),
    "SimplifiedArtistObject": ("id", "href", "uri"),
}
# ...and deprecated fields (plus total_tracks on a local file's album) may be missing.
MISSING_IN_PRACTICE = {
    "AlbumBase": {"available_markets", "total_tracks"},
    "AlbumObject": {"genres", "label", "popularity"},
}
DISCRIMINATOR_MAPPING = {
    "track": "#/components/schemas/TrackObject",
    "episode": "#/components/schemas/EpisodeObject",
    "artist": "#/components/schemas/ArtistObject",
}


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def _add_discriminator_mappings(node: Any) -> None:
    if isinstance(node, dict):
        if "discriminator" in node:
            node["discriminator"].setdefault("mapping", DISCRIMINATOR_MAPPING)
        for value in node.values():
            _add_discriminator_mappings(value)
    elif isinstance(node, list):
        for value in node:
            _add_discriminator_mappings(value)


def _properties(schema: dict[str, Any]) -> dict[str, Any]:
    if "properties" in schema:
        return schema["properties"]
    return next(part["properties"] for part in schema["allOf"] if "properties" in part)


@cache
def spec_components() -> dict[str, Any]:
    """The OpenAPI components, adjusted to what the 2026 API really returns."""
    spec = yaml.safe_load(SPEC_PATH.read_text())
    components = copy.deepcopy(spec["components"])
    schemas = components["schemas"]
    for name, fields in NULL_IN_PRACTICE.items():
        properties = _properties(schemas[name])
        for field in fields:
            properties[field] = {"anyOf": [{"enum": [None]}, properties[field]]}
    for name, fields in MISSING_IN_PRACTICE.items():
        schemas[name]["required"] = [f for f in schemas[name]["required"] if f not in fields]
    _add_discriminator_mappings(components)
    return components


@cache
def _validator(ref: str) -> OAS30Validator:
    schema = {"$ref": ref, "components": spec_components()}
    return OAS30Validator(schema, format_checker=OAS30Validator.FORMAT_CHECKER)


def validate(instance: Any, schema_name: str) -> None:
    """Validate against a component schema (or a response component, "responses/Name")."""
    if schema_name.startswith("responses/"):
        ref = f"#/components/{schema_name}/content/application~1json/schema"
    else:
        ref = f"#/components/schemas/{schema_name}"
    _validator(ref).validate(instance)


def user_token(emulator_: Emulator) -> str:
    """A user access token obtained with the refresh-token grant."""
    response = requests.post(
        emulator_.auth_url + "/api/token",
        data={"grant_type": "refresh_token", "refresh_token": emulator_.refresh_token},
        auth=(emulator_.client_id, emulator_.client_secret),
        timeout=5,
    )
    response.raise_for_status()
    return response.json()["access_token"]


Get = Callable[..., requests.Response]


def getter(emulator_: Emulator, token: str) -> Get:
    """A GET helper taking a /v1-relative path or an absolute URL, and query params."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"

    def get(path: str, **params: Any) -> requests.Response:
        url = path if path.startswith("http") else emulator_.api_url + path
        return session.get(url, params=params, timeout=5)

    return get


def requested(track: dict[str, Any]) -> dict[str, Any]:
    """A served track as the account holds it: relinked, it names that one in `linked_from`."""
    return track.get("linked_from") or track


def follow(get_: Get, path: str, **params: Any) -> list[Any]:
    """Every item of a paged endpoint, following `next` links."""
    page = get_(path, **params).json()
    items = list(page["items"])
    while page["next"]:
        page = get_(page["next"]).json()
        items.extend(page["items"])
    return items
