from __future__ import annotations

from datetime import date

import pytest
import sqlglot
from sqlglot import exp

from chalicelib.errors import NotFoundError, ValidationError
from chalicelib.query.named import describe, get_query, load_queries, parse_query

REQUIRED = {"top_artists", "top_tracks", "listening_by_hour", "playlist_changes"}
TODAY = date(2026, 3, 15)


def athena_tree(name: str) -> exp.Expression:
    return sqlglot.parse_one(get_query(name).sql, read="athena")


def test_the_required_named_queries_are_shipped():
    assert set(load_queries()) >= REQUIRED


@pytest.mark.parametrize("name", sorted(load_queries()))
def test_each_query_declares_one_param_per_placeholder(name):
    placeholders = list(athena_tree(name).find_all(exp.Placeholder))
    assert len(placeholders) == len(get_query(name).placeholders)
    bound = {placeholder.split("[", 1)[0] for placeholder in get_query(name).placeholders}
    assert bound == {p.name for p in get_query(name).params}


@pytest.mark.parametrize("name", sorted(load_queries()))
def test_each_placeholder_sits_in_a_where_clause_as_athena_requires(name):
    for placeholder in athena_tree(name).find_all(exp.Placeholder):
        assert placeholder.find_ancestor(exp.Where) is not None


@pytest.mark.parametrize("name", sorted(load_queries()))
def test_each_query_transpiles_to_duckdb(name):
    duckdb_sql = sqlglot.transpile(get_query(name).sql, read="athena", write="duckdb")
    assert len(duckdb_sql) == 1
    assert duckdb_sql[0].count("?") == len(get_query(name).placeholders)


@pytest.mark.parametrize("name", sorted(load_queries()))
def test_each_query_has_a_description_and_typed_params(name):
    query = get_query(name)
    assert query.description
    assert all(param.type in ("date", "integer", "account", "accounts") for param in query.params)
    assert query.takes_account or query.takes_accounts, "every query reads one account or several"


def test_an_unknown_query_name_is_not_found_and_lists_the_known_ones():
    with pytest.raises(NotFoundError, match="top_tracks"):
        get_query("top_albums")


def test_describe_lists_every_query_with_its_params():
    described = {query["name"]: query for query in describe()}
    limit = described["top_tracks"]["params"][2]
    assert limit == {
        "name": "limit",
        "type": "integer",
        "required": False,
        "default": 10,
        "description": "how many tracks",
        "min": 1,
        "max": 1000,
    }
    assert described["listening_by_hour"]["params"][0]["default"] == "today-30"


def test_binding_returns_values_in_placeholder_order():
    query = get_query("top_tracks")
    raw = {"limit": 5, "end_date": "2026-01-31", "start_date": "2026-01-01", "account": "ann"}
    period = ["2026-01-01", "2026-01-31"]
    catalog = ["ann", "2026-01-01", "2026-01-01"]
    assert query.bind(raw) == ["ann", *period * 2, *catalog * 3, 5]


@pytest.mark.parametrize(("limit", "kind"), [("5", "a string"), (5.0, "a decimal number")])
def test_a_number_given_as_text_or_as_a_decimal_is_a_type_error(limit, kind):
    with pytest.raises(ValidationError, match=f"is {limit!r}, {kind}; expected a whole number"):
        get_query("top_tracks").bind({"limit": limit})


def test_the_command_line_gives_numbers_as_text_and_they_bind_as_numbers():
    query = get_query("top_tracks")
    assert query.bind(query.from_text({"limit": "7", "account": "ann"}), TODAY)[-1] == 7
    with pytest.raises(ValidationError, match="out of range: a whole number from 1 to 1000"):
        query.from_text({"limit": "9" * 40})


def test_json_numbers_bind_as_integers():
    assert get_query("top_tracks").bind({"limit": 7, "account": "ann"}, TODAY)[-1] == 7


def test_defaults_are_thirty_days_ago_to_today_in_utc():
    assert get_query("top_artists").bind({"account": "ann"}, TODAY) == [
        "ann",
        *["2026-02-13", "2026-03-15"] * 2,
        *["ann", "2026-02-13", "2026-02-13"] * 3,
        10,
    ]


def test_a_bind_line_lets_one_value_fill_several_placeholders():
    text = (
        "-- description: Plays of a day.\n-- param: day date\n-- bind: day, day\n"
        "SELECT * FROM plays WHERE played_date BETWEEN ? AND ?"
    )
    assert parse_query("plays", text).bind({"day": "2026-01-02"}) == ["2026-01-02"] * 2


def test_a_list_of_accounts_binds_one_id_per_placeholder_the_first_filling_the_rest():
    text = (
        "-- description: Plays.\n-- param: accounts accounts\n"
        "-- bind: accounts[1], accounts[2], accounts[3]\n"
        "SELECT * FROM plays WHERE account_id IN (?, ?, ?)"
    )
    query = parse_query("plays", text)
    assert query.bind({"accounts": "ann,bob"}) == ["ann", "bob", "ann"]
    assert query.bind({"accounts": ["cy"]}) == ["cy", "cy", "cy"]
    assert query.accounts(query.bind({"accounts": "ann,bob"})) == ("ann", "bob")
    with pytest.raises(ValidationError, match="1 to 5"):
        query.bind({"accounts": "a,b,c,d,e,f"})
    with pytest.raises(ValidationError, match="not a Spotify user ID"):
        query.bind({"accounts": "ann,../x"})


def test_a_bind_line_naming_an_undeclared_param_is_refused():
    text = "-- description: P.\n-- param: day date\n-- bind: day, other\nSELECT ? WHERE ?"
    with pytest.raises(ValueError, match="not all declared"):
        parse_query("plays", text)


def test_a_start_date_alone_must_not_fall_after_the_default_end():
    with pytest.raises(ValidationError, match="after end_date"):
        get_query("listening_by_hour").bind({"start_date": "2026-04-01", "account": "a"}, TODAY)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"since": "2026-01-01"}, "no parameter 'since'"),
        ({"start_date": 20260101}, "YYYY-MM-DD"),
        ({"start_date": "2026-13-01"}, "which is not a date"),
        ({"start_date": "2026-02-30"}, "which is not a date"),
        ({"start_date": "2026-11-31"}, "'2026-11-31', which is not a date"),
        ({"start_date": "20260101"}, "YYYY-MM-DD"),
        ({"start_date": "2026-01-01' OR 1=1 --"}, "YYYY-MM-DD"),
        ({"end_date": "'; DROP TABLE plays; --"}, "YYYY-MM-DD"),
        ({"limit": "ten"}, "whole number from 1 to 1000"),
        ({"limit": "10 OR 1=1"}, "whole number"),
        ({"limit": 2.5}, "whole number"),
        ({"limit": True}, "whole number"),
        ({"limit": -1}, "whole number from 1 to 1000"),
        ({"limit": 0}, "whole number from 1 to 1000"),
        ({"limit": 10**12}, "out of range: a whole number from 1 to 1000"),
        ({"limit": 10**40}, "out of range"),
        ({"start_date": "2026-02-01", "end_date": "2026-01-01"}, "after end_date"),
    ],
)
def test_bad_params_are_refused_with_what_was_expected(params, message):
    with pytest.raises(ValidationError, match=message):
        get_query("top_tracks").bind({"account": "ann", **params}, TODAY)


def test_params_must_be_an_object():
    with pytest.raises(ValidationError, match="object"):
        get_query("top_tracks").bind(["2026-01-01"])  # type: ignore[arg-type]


HEADER = '-- description: Plays.\n-- param: start_date date default=today "first day"\n'


def test_a_header_parses_into_params():
    query = parse_query("plays", HEADER + "SELECT * FROM plays WHERE played_date >= ?")
    assert [(p.name, p.type, p.default, p.description) for p in query.params] == [
        ("start_date", "date", "today", "first day")
    ]


def test_a_query_over_the_whole_history_reads_from_the_first_partition():
    text = (
        "-- description: Plays up to a day.\n-- param: end_date date\n"
        "-- reads: plays from the first to end_date\n-- reads: tracks from the first\n"
        "SELECT * FROM plays JOIN tracks USING (track_id) WHERE played_date <= ?"
    )
    assert parse_query("plays", text).partitions(["2026-01-02"]) == {
        "plays": ("0001-01-01", "2026-01-02"),
        "tracks": ("0001-01-01", None),
    }


@pytest.mark.parametrize(
    "text",
    [
        HEADER + "SELECT * FROM plays WHERE played_date BETWEEN ? AND ?",
        "-- param: start_date date\nSELECT * FROM plays WHERE played_date >= ?",
        "-- description: x\n-- param: start_date datetime\nSELECT 1 WHERE ?",
        "-- description: x\n-- param: start_date date default=yesterday\nSELECT 1 WHERE ?",
        "-- description: x\n-- param: n integer maximum=3\nSELECT 1 WHERE ?",
        "-- description: x\n-- param: d date\n-- reads: plays since d\nSELECT 1 WHERE ?",
        "-- description: x\n-- param: n integer\n-- reads: plays from n\nSELECT 1 WHERE ?",
        "-- description: x\n-- param: d date\n-- reads: plays from the first-1 to d\n"
        "SELECT 1 WHERE ?",
        "-- description: x\n-- param: d date\n-- param: e date\n-- bind: d\n"
        "-- reads: plays from d to e\nSELECT 1 WHERE ?",
    ],
)
def test_a_malformed_header_is_refused_when_loading(text):
    with pytest.raises(ValueError, match="plays.sql"):
        parse_query("plays", text)
