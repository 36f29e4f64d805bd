"""Catalogue and workgroup setup: the Glue tables, the Athena workgroup, the lake bucket."""
