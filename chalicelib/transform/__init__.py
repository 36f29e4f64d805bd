"""The transform: raw API answers -> the nine Parquet tables of chalicelib.schema.

    transform_run(lake, manifest_key)   one run, as the S3 trigger on its manifest asks
    transform_all(lake)                 every run in raw/, rebuilding the tables

Both can run at once with each other and with themselves (duplicate S3 events, replays,
two runs of a day landing together): every partition they merge into is written with a
conditional put and merged again when another transform got there first (see commit.py).
pandas and pyarrow are imported only when one of the two is first used, so the rest of
chalicelib, the pure parsers of `parse` included, stays light.
"""

from typing import Any

__all__ = ["transform_all", "transform_run"]


def __getattr__(name: str) -> Any:
    """transform_run and transform_all, imported at first use (PEP 562)."""
    if name == "transform_run":
        from chalicelib.transform.run import transform_run

        return transform_run
    if name == "transform_all":
        from chalicelib.transform.rebuild import transform_all

        return transform_all
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
