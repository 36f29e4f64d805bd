"""Two stages in one account and region share nothing by accident: what `chalice deploy`
creates for each (Chalice's own deployment graph, built offline from .chalice/config.json
with the stage's variables, as `chalice deploy --stage S` builds it) and the names each
stage's code and setup use. (glue/setup.py's side: tests/glue/test_operations_setup.py.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from glue.policies import FUNCTIONS, deployed_name
from spotify_etl.stage import Stage

ROOT = Path(__file__).resolve().parents[2]
STAGES = ("dev", "prod")
# One process per stage: app.py declares its S3 event sources from LAKE_URI when imported.
GRAPH = """
import dataclasses, json, os, sys
from chalice.cli.factory import CLIFactory
from chalice.deploy.appgraph import ApplicationGraphBuilder, DependencyBuilder

stage = sys.argv[1]
factory = CLIFactory(project_dir=".")
project = factory.load_project_config()
variables = {**project.get("environment_variables", {}),
             **project["stages"][stage].get("environment_variables", {})}
os.environ.update(variables)  # what `chalice deploy` gives app.py while it is imported
factory.load_chalice_app()
config = factory.create_config_obj(chalice_stage_name=stage)
graph = ApplicationGraphBuilder().build(config, stage)
names = []
for resource in DependencyBuilder().build_dependencies(graph):
    for field in dataclasses.fields(resource):
        value = getattr(resource, field.name)
        if field.name in ("function_name", "role_name", "rule_name", "bucket", "api_gateway_stage"):
            names.append([type(resource).__name__, field.name, value])
print(json.dumps(names))
"""


@pytest.fixture(scope="module")
def chalice_deployment() -> dict[str, list[list[str]]]:
    def names(stage: str) -> list[list[str]]:
        built = subprocess.run(
            [sys.executable, "-c", GRAPH, stage], cwd=ROOT, capture_output=True, text=True,
            timeout=120, env={"PATH": "/usr/bin:/bin", "AWS_DEFAULT_REGION": "us-east-1"},
        )  # fmt: skip
        assert built.returncode == 0, built.stderr[-2000:]
        return json.loads(built.stdout)

    return {stage: names(stage) for stage in STAGES}


def test_every_function_role_rule_and_bucket_chalice_deploys_is_the_stages_own(chalice_deployment):
    for stage, names in chalice_deployment.items():
        other = next(s for s in STAGES if s != stage)
        kinds = {(kind, field) for kind, field, _ in names}
        assert {
            ("LambdaFunction", "function_name"),
            ("ManagedIAMRole", "role_name"),
            ("ScheduledEvent", "rule_name"),
            ("S3BucketNotification", "bucket"),
        } <= kinds
        for kind, field, value in names:
            if field == "api_gateway_stage":
                continue  # the path of the stage's own REST API (/api), not a shared name
            assert f"spotify-etl-{stage}" in value, (kind, field, value)
            assert other not in value, (kind, field, value)
    dev, prod = ({value for *_, value in chalice_deployment[s]} for s in STAGES)
    assert not (dev & prod) - {"api"}


@pytest.mark.parametrize("stage_name", STAGES)
def test_every_name_the_stages_code_and_setup_use_is_its_own(stage_name):
    stage = Stage.from_config(ROOT / ".chalice" / "config.json", stage_name)
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    variables = config["stages"][stage_name]["environment_variables"]
    names = [
        stage.bucket, stage.database, stage.workgroup, stage.secret_id, stage.dashboard_key_id,
        stage.failure_queue, stage.alarm_topic, stage.crawler, stage.crawler_role,
        variables["EXTRACT_FUNCTION"], variables["REPLAY_FUNCTION"],
        *(deployed_name(stage, function) for function in FUNCTIONS),
    ]  # fmt: skip
    other = next(s for s in STAGES if s != stage_name)
    for name in names:
        assert stage_name in name.replace("_", "-").split("-") or f"/{stage_name}" in name, name
        assert other not in name, name
    assert variables["EXTRACT_FUNCTION"] == stage.function("run_extract")
    assert variables["REPLAY_FUNCTION"] == stage.function("replay")
    assert variables["DASHBOARD_KEY_SECRET_ID"] == stage.dashboard_key_id
