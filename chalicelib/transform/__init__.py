"""The transform: raw API answers -> the nine Parquet tables of chalicelib.schema.

    transform_run(lake, manifest_key)   one run, as the S3 trigger on its manifest asks
    transform_all(lake)                 every run in raw/, rebuilding the tables

Both can run at once with each other and with themselves (duplicate S3 events, replays,
two runs of a day landing together): every partition they merge into is written with a
conditional put and merged again when another transform got there first (see commit.py).
pandas and pyarrow are imported here only, so the rest of chalicelib stays light.
"""

from chalicelib.transform.rebuild import transform_all
from chalicelib.transform.run import transform_run

__all__ = ["transform_all", "transform_run"]
