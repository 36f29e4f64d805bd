"""The transform: raw API answers -> the nine Parquet tables of chalicelib.schema.

    transform_run(lake, manifest_key)   one run, as the S3 trigger on its manifest asks
    transform_all(lake)                 every run in raw/, rebuilding the tables

pandas and pyarrow are imported here only, so the rest of chalicelib stays light.
"""

from chalicelib.transform.rebuild import transform_all
from chalicelib.transform.run import transform_run

__all__ = ["transform_all", "transform_run"]
