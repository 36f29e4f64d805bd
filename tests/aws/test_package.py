"""`make package` builds the dev stage's Terraform package offline, under Python 3.12.

The first run builds .venv312 and downloads the bundled wheels (cached afterwards under
.venv312 and .chalice/deployments); later runs take about a second.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "build" / "package"
MAX_ZIP_BYTES = 50 * 1024 * 1024  # Chalice refuses larger zips
LAYER = ":336392948345:layer:AWSSDKPandas-Python312:"
STAGE_NAMES = ("spotify-etl-dev", "spotify_etl_dev", "spotify-etl/dev")
# ARNs in a static policy file cannot name the account or region, so those two fields may be
# '*'; every resource still names a resource of the stage. Nothing else may be a wildcard.
# The resources without a stage name: Glue authorizes every catalog call against the
# account's catalog as well as the database and table, and Athena reads the `default`
# database on every query (AWS's Athena guide), so both are granted, read-only.
GLUE_SHARED = ("arn:aws:glue:*:*:catalog", "arn:aws:glue:*:*:database/default")


def python312_available() -> bool:
    if shutil.which("python3.12") is None:
        return False
    probe = subprocess.run(
        ["python3.12", "--version"],
        env={"PYENV_VERSION": "3.12.1", "PATH": __import__("os").environ["PATH"]},
        capture_output=True,
    )
    return probe.returncode == 0


pytestmark = [
    pytest.mark.integration,  # chalice package under Python 3.12
    pytest.mark.skipif(
        not python312_available(),
        reason="python3.12 is needed: Chalice packages for the runtime "
        "of the interpreter that runs it, and the Lambda runtime is python3.12",
    ),
]


@pytest.fixture(scope="module")
def package():
    built = subprocess.run(
        ["make", "package"], cwd=ROOT, capture_output=True, text=True, timeout=900
    )
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    terraform = json.loads((PACKAGE / "chalice.tf.json").read_text())
    return terraform["resource"], PACKAGE / "deployment.zip"


def test_the_transform_listens_for_raw_manifests_and_the_import_for_uploads(package):
    resources, _ = package
    [notification] = resources["aws_s3_bucket_notification"].values()
    assert notification["bucket"] == "spotify-etl-dev-lake"
    targets = {
        (target["filter_prefix"], target.get("filter_suffix")): target
        for target in notification["lambda_function"]
    }
    assert set(targets) == {("raw/", "manifest.json"), ("imports/", None)}
    assert all(target["events"] == ["s3:ObjectCreated:*"] for target in targets.values())
    assert "on_manifest" in targets["raw/", "manifest.json"]["lambda_function_arn"]
    assert "on_import" in targets["imports/", None]["lambda_function_arn"]


def test_both_schedules_and_the_rest_api_are_deployed(package):
    resources, _ = package
    schedules = {
        rule["schedule_expression"] for rule in resources["aws_cloudwatch_event_rule"].values()
    }
    assert schedules == {"cron(15 3 * * ? *)", "rate(30 minutes)"}
    assert resources["aws_api_gateway_rest_api"]["rest_api"]["name"] == "spotify-etl"


def test_every_function_runs_python_312_with_the_pandas_layer(package):
    resources, _ = package
    functions = resources["aws_lambda_function"]
    assert set(functions) == {
        "api_handler",
        "snapshot",
        "plays",
        "run_extract",
        "on_manifest",
        "replay",
        "on_import",
    }
    for function in functions.values():
        assert function["runtime"] == "python3.12"
        assert any(LAYER in layer for layer in function["layers"])
    assert functions["run_extract"]["function_name"] == "spotify-etl-dev-run_extract"
    assert functions["run_extract"]["timeout"] == 900
    assert functions["api_handler"]["timeout"] <= 30
    assert functions["on_manifest"]["memory_size"] >= 1769
    assert (functions["on_import"]["timeout"], functions["on_import"]["memory_size"]) == (900, 1769)


def test_the_zip_is_small_and_leaves_pandas_pyarrow_numpy_to_the_layer(package):
    _, archive = package
    assert archive.stat().st_size < MAX_ZIP_BYTES
    with zipfile.ZipFile(archive) as zipped:
        names = zipped.namelist()
    top = {name.split("/", 1)[0] for name in names}
    assert not top & {"pandas", "pyarrow", "numpy", "duckdb", "boto3", "botocore"}
    assert {"app.py", "chalicelib"} <= top
    assert "chalicelib/queries/top_tracks.sql" in names
    assert "chalicelib/dashboard/templates/dashboard.html" in names
    assert not top & {"emulator", "spotify_etl", "tests", "glue", "benchmarks"}


def test_the_zip_bundles_exactly_the_versions_of_the_lambda_lock(package):
    """requirements.txt points chalice's pip at locks/lambda.txt: what Lambda runs is what the
    tests ran (locks/dev.txt's versions, which the lock check holds it to)."""
    _, archive = package
    with zipfile.ZipFile(archive) as zipped:
        infos = {name.split("/", 1)[0] for name in zipped.namelist() if ".dist-info/" in name}
    bundled = dict(info.removesuffix(".dist-info").rsplit("-", 1) for info in infos)
    locked = {
        canonicalize_name(line.split("==")[0]): line.split("==")[1].split()[0]
        for line in (ROOT / "locks/lambda.txt").read_text().splitlines()
        if line[:1].isalnum()
    }
    assert {canonicalize_name(name): version for name, version in bundled.items()} == locked


def test_each_function_runs_under_its_own_role_with_its_own_policy(package):
    resources, _ = package
    functions = resources["aws_lambda_function"]
    roles = {function["role"] for function in functions.values()}
    assert len(roles) == len(functions), "one role per function"
    policies = {
        policy["role"]: json.loads(policy["policy"])
        for policy in resources["aws_iam_role_policy"].values()
    }
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    settings = config["stages"]["dev"]["lambda_functions"]
    for name, function in functions.items():
        written = json.loads((ROOT / ".chalice" / settings[name]["iam_policy_file"]).read_text())
        assert policies[function["role"].replace(".arn}", ".id}")] == written, name
        for statement in written["Statement"]:
            check_statement(statement)


def check_statement(statement: dict, names: tuple[str, ...] = STAGE_NAMES) -> None:
    actions = _list(statement["Action"])
    resources = _list(statement["Resource"])
    assert statement["Effect"] == "Allow"
    assert all("*" not in action for action in actions), actions
    for resource in resources:
        assert resource != "*" and resource.startswith("arn:aws:"), resource
        shared = resource in GLUE_SHARED
        assert shared or any(name in resource for name in names), resource


def _list(value):
    return value if isinstance(value, list) else [value]
