"""SQL injection and malformed input through every parameter of every route and the command
line: nothing gets a 5xx, nothing reaches SQL text, and no refused payload starts a query.

A spy wraps DuckDB's connections (the boundary where SQL text is sent): every statement run
must be our own (the session setting, a view over the lake, or a named query's transpiled
text) and every bound value a validated date or integer.
"""

from __future__ import annotations

import json
from urllib.parse import quote

import duckdb
import pytest

from chalicelib.query.duckdb_engine import EXECUTIONS, duckdb_sql
from chalicelib.query.named import load_queries
from spotify_etl.cli import main

STRINGS = [
    "'", "''", '"', "\\", "`", ";", "--", "/*", "*/", "#",
    "' OR '1'='1", "' OR 1=1 --", "1 OR 1=1", "1; DROP TABLE plays; --",
    "2026-01-01'; DROP TABLE plays; --", "2026-01-01' --", "2026-01-01/*", "2026-01-01;",
    "' UNION SELECT * FROM plays --", "1 UNION ALL SELECT NULL,NULL,NULL",
    "'); COPY plays TO '/tmp/x.csv'; --", "1); ATTACH '/tmp/evil.db' AS e; --",
    "read_csv('/etc/passwd')", "' || (SELECT version()) || '",
    "${jndi:ldap://x}", "{{7*7}}", "%00", "%27%20OR%201%3D1",
    "２０２６-０１-０１", "2026‐01‐01", "2026-01-01\u200b", "ʼ OR 1=1 --", "＇ OR １=１",
    "\x00", "2026-01-01\x00' OR 1=1", "\ud800", "\n", "\r\n2026-01-01", "\t",
    "A" * 10_000, "9" * 400, "-1", "0", "1e3", "1.5", "0x10", "NaN", "Infinity", "-0",
    "99999999999999999999999", "2026-13-01", "2026-02-30", "0000-00-00", "2026-1-1",
    "../../etc/passwd", "..%2F..%2Fetc%2Fpasswd", "runs/../state/x", "/etc/passwd",
    "20261126T135200Z-3f9a1c/../../x", "0f8fad5b-d9cb-469f-a165-70867728950e' OR '1",
    "<script>alert(1)</script>", "null", "true", "[]", "{}",
]  # fmt: skip
JSON_VALUES = [None, True, False, 0, -1, 1.5, 10**30, [], ["2026-01-01"], {}, {"$gt": ""}]
PAYLOADS = STRINGS + JSON_VALUES
JSON = {"Content-Type": "application/json"}


class Spy:
    """Records what reaches DuckDB through a real connection."""

    def __init__(self, statements: list):
        self._statements = statements

    def __call__(self, *args, **kwargs):
        return SpiedConnection(REAL_CONNECT(*args, **kwargs), self._statements)


class SpiedConnection:
    def __init__(self, connection, statements: list):
        self._connection, self._statements = connection, statements

    def execute(self, sql, parameters=None):
        self._statements.append((sql, parameters))
        return self._connection.execute(sql, parameters)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return self._connection.__exit__(*exc_info)

    def __getattr__(self, name):
        return getattr(self._connection, name)


REAL_CONNECT = duckdb.connect


@pytest.fixture
def statements(monkeypatch, app_client, lake):
    sent: list = []
    monkeypatch.setattr(duckdb, "connect", Spy(sent))
    return sent


def executions(lake) -> list[dict]:
    return [json.loads(lake.get(key)) for key in lake.list(EXECUTIONS)]


def assert_only_our_sql(sent: list) -> None:
    named = {duckdb_sql(query.sql) for query in load_queries().values()}
    for sql, parameters in sent:
        ours = sql == "SET TimeZone = 'UTC'" or sql.startswith("CREATE VIEW ") or sql in named
        assert ours, sql[:200]
        for value in parameters or []:
            valid = isinstance(value, int) or (isinstance(value, str) and len(value) == 10)
            assert valid, value


def post_query(client, body) -> int:
    raw = body if isinstance(body, str) else json.dumps(body)  # a lone surrogate: invalid UTF-8
    data = raw.encode("utf-8", errors="surrogatepass")
    return client.http.post("/queries/top_tracks", headers=JSON, body=data).status_code


def test_every_payload_in_every_query_parameter_is_refused_or_bound_never_pasted(
    app_client, lake, statements, record_property
):
    requests, refused = 0, 0
    for payload in PAYLOADS:
        for name in ("start_date", "end_date", "limit"):
            before = len(executions(lake))
            status = post_query(app_client, {"params": {name: payload}, "wait_seconds": 0})
            requests += 1
            assert status < 500, (name, payload)
            if status >= 400:
                refused += 1
                assert len(executions(lake)) == before, (name, payload)
        if isinstance(payload, str):
            status = post_query(app_client, {"params": {payload: "2026-01-01"}})
            bodies = [payload, json.dumps({payload: 1}), json.dumps({"params": payload})]
            statuses = [status, *(post_query(app_client, body) for body in bodies)]
            requests += 4
            assert max(statuses) < 500 and status == 400, payload
    assert_only_our_sql(statements)
    for record in executions(lake):
        assert all(isinstance(v, int) or len(v) == 10 for v in record["params"]), record
    record_property("figure:injection payloads", len(PAYLOADS))
    record_property("figure:injection requests", requests)
    assert refused > len(PAYLOADS)


def test_every_payload_in_an_id_or_query_string_gets_a_4xx_and_starts_nothing(
    app_client, lake, statements, record_property
):
    requests = 0
    for payload in (p for p in STRINGS if "\x00" not in p and "\ud800" not in p):
        quoted = quote(payload, safe="")
        for method, path in (
            ("GET", f"/queries/executions/{quoted}"),
            ("GET", f"/runs/{quoted}"),
            ("POST", f"/runs/{quoted}/transform"),
            ("GET", f"/dashboard?start_date={quoted}"),
            ("GET", f"/dashboard?end_date={quoted}&start_date=2026-01-01"),
            ("GET", f"/runs?limit={quoted}"),
            (
                "GET",
                f"/queries/executions/0f8fad5b-d9cb-469f-a165-70867728950e?next_token={quoted}",
            ),
        ):
            response = app_client.http.request(method, path, headers=JSON, body=b"")
            requests += 1
            assert response.status_code < 500, (method, path)
            assert (
                set(response.json_body or {}) <= {"Code", "Message"} or response.status_code < 400
            )
    for record in executions(lake):  # a date the dashboard accepted, like "\r\n2026-01-01"
        assert all(isinstance(v, int) or len(v) == 10 for v in record["params"]), record
    assert_only_our_sql(statements)
    assert list(lake.list("runs/")) == [] and list(lake.list("raw/")) == []
    record_property("figure:injection requests", requests)


def test_every_payload_as_a_cli_param_exits_1_or_runs_bound(env, lake, statements, capsys):
    refused = 0
    for payload in (p for p in STRINGS if "\x00" not in p and "\ud800" not in p):
        before = len(executions(lake))
        code = main(["query", "top_tracks", "--param", f"start_date={payload}", "--format", "json"])
        assert code in (0, 1), payload
        if code == 1:
            refused += 1
            assert len(executions(lake)) == before
            assert capsys.readouterr().err.startswith("error: "), payload
    assert_only_our_sql(statements)
    assert refused
