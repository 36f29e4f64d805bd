"""Endpoints Development Mode apps lost in 2024-2026 answer as removed."""

import pytest
from emulator_support import Get

REMOVED = [
    "/tracks?ids=4iV5W9uYEdYUVa79Axb7Rh",
    "/albums?ids=382ObEPsp2rxGrnsizN5TX",
    "/artists?ids=0TnOYISbd1XYRBk9myaseg",
    "/artists/0TnOYISbd1XYRBk9myaseg/top-tracks",
    "/artists/0TnOYISbd1XYRBk9myaseg/related-artists",
    "/users/smedjan",
    "/users/smedjan/playlists",
    "/browse/featured-playlists",
    "/browse/categories/party/playlists",
    "/audio-features?ids=4iV5W9uYEdYUVa79Axb7Rh",
    "/audio-features/4iV5W9uYEdYUVa79Axb7Rh",
    "/audio-analysis/4iV5W9uYEdYUVa79Axb7Rh",
    "/recommendations?seed_genres=jazz",
    "/recommendations/available-genre-seeds",
]


@pytest.mark.parametrize("path", REMOVED)
def test_removed_endpoint_answers_403(get: Get, path: str) -> None:
    response = get(path)
    assert response.status_code == 403
    assert response.json()["error"]["status"] == 403
    assert response.json()["error"]["message"]


@pytest.mark.parametrize("path", ["/nothing-here", "/me/unknown", "/v2/me"])
def test_unknown_path_answers_404(get: Get, path: str) -> None:
    assert get(path).status_code == 404


def test_top_of_an_unknown_type_is_a_bad_request(get: Get) -> None:
    assert get("/me/top/albums").status_code == 400
    assert get("/me/top/tracks", time_range="forever").status_code == 400
