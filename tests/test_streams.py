"""The stream registry: each stream declared once, and everything that lists streams reads it."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from chalicelib import raw, streams
from chalicelib.errors import ValidationError
from chalicelib.schema import SNAPSHOT_TABLES, TABLES
from chalicelib.transform import parse

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("stream", streams.STREAMS, ids=lambda s: s.name)
def test_each_reader_is_a_generator_of_the_client_the_run_s_context_and_its_bookmark(stream):
    assert inspect.isgeneratorfunction(stream.read)
    assert list(inspect.signature(stream.read).parameters) == ["client", "context", "bookmark"]


def test_every_snapshot_table_is_fed_by_a_stream_and_every_fed_table_is_one():
    fed = [table for stream in streams.STREAMS for table in stream.feeds]
    assert sorted(fed) == sorted(SNAPSHOT_TABLES)


def test_every_raw_stream_a_run_lands_has_one_parser():
    landed = [name for stream in streams.STREAMS for name in stream.lands]
    assert len(landed) == len(set(landed))
    assert set(streams.PARSERS) == set(landed) | set(parse.EVERY_RUN) | {raw.HISTORY}
    assert set(parse.EVERY_RUN) == {raw.ME, raw.TRACKS, raw.IMPORTED_TRACK, raw.ALBUMS, raw.ARTISTS}


def test_the_plays_poll_reads_the_polled_streams_and_the_snapshot_all_of_them():
    assert streams.of_kind(raw.PLAYS_ONLY) == ("plays",)
    assert streams.of_kind(raw.SNAPSHOT) == streams.NAMES


@pytest.mark.parametrize("names", [[], ["podcasts"], ["plays", "Plays"], [{"a": 1}], [None]])
def test_unknown_stream_names_are_refused_listing_the_known_ones(names):
    with pytest.raises(ValidationError, match=", ".join(streams.NAMES)):
        streams.check(names)


def test_the_readme_and_the_openapi_document_list_the_registry_s_streams():
    readme = (ROOT / "README.md").read_text()
    [listed] = re.findall(r"extract \[--streams ([a-z_,]+)\]", readme)
    assert tuple(listed.split(",")) == streams.NAMES
    openapi = (ROOT / "docs" / "openapi.yaml").read_text()
    [enum] = re.findall(r"items: \{type: string, enum: \[([a-z_, ]+)\]\}", openapi)
    assert tuple(enum.split(", ")) == streams.NAMES


@pytest.mark.parametrize("name", TABLES)
def test_a_row_holds_its_values_in_the_schema_s_column_order_whatever_order_they_came_in(name):
    table = TABLES[name]
    values = {column: f"value of {column}" for column in reversed(table.parsed_columns)}
    row = table.row(**values)
    assert type(row) is tuple and list(row) == [f"value of {c}" for c in table.parsed_columns]
    # `played`, which the transform appends to a parsed row, must be the last column
    assert table.column_names in (table.parsed_columns, [*table.parsed_columns, "played"])


@pytest.mark.parametrize(
    "values",
    [
        {"played_at": 1, "track": None, "context_type": None, "context_uri": None},
        {"played_at": 1, "track_id": None, "context_type": None},
        {"played_at": 1, "track_id": None, "context_type": None, "context_uri": None, "x": 2},
    ],
)
def test_a_row_with_a_column_unknown_or_missing_fails_naming_the_columns(values):
    with pytest.raises(TypeError, match="played_at, track_id, context_type, context_uri"):
        TABLES["plays"].row(**values)
