"""Small truths a newcomer checks: the docs agree with each other and with the code, local
query executions do not pile up, and the repository says under which licence it is."""

import ast
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from chalicelib.accounts import register
from chalicelib.query.duckdb_engine import EXECUTIONS, KEPT_EXECUTIONS, DuckDBEngine
from chalicelib.query.service import run_query

ROOT = Path(__file__).resolve().parents[1]


def test_local_query_executions_are_pruned_to_the_newest(lake):
    register(lake, "listener", {})  # a lake of one account, with no rows yet
    engine = DuckDBEngine(lake)
    ids = [
        run_query(engine, "listening_by_hour", {})["execution_id"]
        for _ in range(KEPT_EXECUTIONS + 5)
    ]
    kept = {key.rsplit("/", 1)[1].removesuffix(".json") for key in lake.list(EXECUTIONS)}
    assert len(kept) == KEPT_EXECUTIONS
    assert ids[-1] in kept and ids[0] not in kept


def test_the_readme_and_deploy_md_agree_on_the_package_size():
    sizes = [
        set(re.findall(r"function zip (?:stays|is) about ([\d.]+ MB)", (ROOT / name).read_text()))
        for name in ("README.md", "docs/DEPLOY.md")
    ]
    assert sizes[0] and sizes[0] == sizes[1]


def test_the_api_key_snippets_take_the_stages_own_api_so_two_stages_do_not_clash():
    for name in ("README.md", "docs/DEPLOY.md"):
        text = (ROOT / name).read_text()
        assert "get-rest-apis" not in text, name
        assert "chalice url --stage dev" in text, name


def api_gateway_variables(text: str) -> set[str]:
    """The shell variables a doc's API Gateway commands set and read."""
    lines = [line for line in text.splitlines() if re.search(r"apigateway|apiId=|apiStages", line)]
    found = re.findall(r"\$\{?([A-Z][A-Z_]*)|^([A-Z][A-Z_]*)=", "\n".join(lines), re.M)
    return {read or set_ for read, set_ in found}


def test_the_readme_and_deploy_md_name_the_api_key_and_usage_plan_alike():
    """A reader who made the key with one doc's snippet tears it down with the other's."""
    readme, deploy = ((ROOT / name).read_text() for name in ("README.md", "docs/DEPLOY.md"))
    assert api_gateway_variables(readme) == api_gateway_variables(deploy)
    assert {"API_ID", "KEY_ID", "PLAN_ID"} <= api_gateway_variables(deploy)


def test_the_readme_links_the_reliability_doc_and_the_repository_has_a_licence():
    readme = (ROOT / "README.md").read_text()
    assert "docs/RELIABILITY.md" in readme and (ROOT / "docs/RELIABILITY.md").exists()
    assert "Permission is hereby granted" in (ROOT / "LICENSE").read_text()


def test_each_fixture_name_is_defined_once_across_the_tests():
    """A fixture redefined in a module or folder silently changes what `env` or `lake` mean
    there; accounts differ by the `account` marker instead."""
    definitions: dict[str, list[str]] = {}
    for path in sorted((ROOT / "tests").rglob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and any(
                "fixture" in ast.unparse(decorator) for decorator in node.decorator_list
            ):
                definitions.setdefault(node.name, []).append(path.relative_to(ROOT).as_posix())
    assert {name: paths for name, paths in definitions.items() if len(paths) > 1} == {}


def test_the_tests_are_laid_out_like_the_code():
    """Each package of chalicelib/ and each tool beside it has its folder of tests."""
    packages = {
        path.name for path in (ROOT / "chalicelib").iterdir() if (path / "__init__.py").exists()
    }
    folders = {path.name for path in (ROOT / "tests").iterdir() if path.is_dir()}
    assert packages <= folders
    assert {"api", "cli", "glue", "spotify_emulator", "aws", "faults"} <= folders


def test_queries_run_side_by_side_prune_the_kept_executions_without_failing(lake):
    """The dashboard runs its queries in threads, each pruning the executions kept: one
    thread's pruning removes files another is sorting by age."""
    register(lake, "listener", {})  # a lake of one account, with no rows yet
    engine = DuckDBEngine(lake)
    workers = 6
    with ThreadPoolExecutor(max_workers=workers) as pool:
        outcomes = list(
            pool.map(lambda _: run_query(engine, "listening_by_hour", {})["state"], range(400))
        )
    assert set(outcomes) == {"SUCCEEDED"}
    # each prunes what it listed: those written meanwhile by the others may stay
    assert KEPT_EXECUTIONS <= len(list(lake.list(EXECUTIONS))) <= KEPT_EXECUTIONS + workers
