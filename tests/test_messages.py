"""Error messages say the right thing, briefly: through the REST routes (chalice.test.Client)
and the command line, on the emulator and a local lake."""

import json

import pytest

from spotify_etl.cli import main

NO_SUCH_RUN = "20260101T000000Z-abcdef"


def post(client, path, body):
    payload = body if isinstance(body, bytes) else json.dumps(body)
    return client.http.post(path, headers={"Content-Type": "application/json"}, body=payload)


def message(response, status=400):
    assert response.status_code == status, response.body
    return response.json_body["Message"]


@pytest.fixture
def filled(app_client):
    """The app over a lake one run has filled."""
    assert post(app_client, "/runs", {"streams": ["saved"]}).status_code == 202
    return app_client


def test_an_unknown_run_is_no_run_not_one_that_failed(filled, capsys, env, tmp_path, monkeypatch):
    text = message(post(filled, f"/runs/{NO_SUCH_RUN}/transform", b""), 404)
    assert text.startswith(f"no run {NO_SUCH_RUN}") and "failed" not in text
    monkeypatch.chdir(tmp_path)
    assert main(["transform", "--run", NO_SUCH_RUN]) == 1
    assert f"no run {NO_SUCH_RUN}" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"start_date": "2026-11-31"}, "'2026-11-31', which is not a date"),
        ({"limit": 10**40}, "out of range: a whole number from 1 to 1000"),
        ({"limit": "5"}, "'5', a string; expected a whole number"),
        ({"limit": 5.0}, "5.0, a decimal number; expected a whole number"),
    ],
)
def test_a_bad_parameter_says_what_is_wrong_with_it(filled, params, expected):
    assert expected in message(post(filled, "/queries/top_tracks", {"params": params}))


def test_a_request_that_takes_no_body_or_query_says_so(filled):
    assert message(post(filled, f"/runs/{NO_SUCH_RUN}/transform", {"x": 1})) == (
        "unknown field(s) 'x'; allowed: account"
    )
    assert "takes no query parameters" in message(filled.http.get("/queries?x=1"))


def test_a_huge_value_is_echoed_only_as_a_short_prefix(filled):
    huge = "x" * 2_000_000
    for response in (
        post(filled, "/queries/top_tracks", {"params": {"start_date": huge}}),
        post(filled, "/queries/top_tracks", {"params": {huge: 1}}),
        filled.http.get(f"/runs?limit={'9' * 5000}"),
        filled.http.get(f"/queries/executions/{'a' * 100_000}"),
    ):
        text = message(response)
        assert len(text) < 300 and "…" in text


def test_messages_hold_no_python_list_reprs(filled):
    text = message(post(filled, "/runs", {"streams": "saved"}))
    assert "[" not in text and "playlists, plays, top, saved" in text
