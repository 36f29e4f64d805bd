"""The per-function policies: linted, written by glue/policies.py, and checked against the
AWS calls the code makes, found two ways.

Statically, every module of chalicelib/ and app.py is parsed with `ast`; a module's services
are the ones it builds clients for (`client("s3")`, through chalicelib.aws, the one place
clients are made), and its operations are the names it calls on a client or passes as a
string (`self._call("put_object", ...)`, `get_paginator("list_objects_v2")`) that are
operations of those services in botocore's own models. That catches a new kind of call.

Dynamically, tests/aws/scenario.py runs every function in moto against the emulator and
records each call botocore sends under the function that made it. Each function's policy
must allow every call it made, and grant nothing that neither its code (a recorded call of a
function of its kind, which run the same code) nor AWS on its behalf needs.
`glue/setup.py` is left out: it runs with the deployer's credentials, not a function's role.
"""

from __future__ import annotations

import ast
import json
from fnmatch import fnmatchcase
from functools import cache
from pathlib import Path

import botocore.session
import pytest
from botocore import xform_name

from app import app
from glue.policies import ASYNCHRONOUS, FUNCTIONS
from glue.policies import main as policies_main
from tests.aws.scenario import recorded_run

PROJECT = Path(__file__).resolve().parents[2]
STAGES = ("dev", "prod")
CLIENT_BUILDERS = {"client"}
ACCOUNT, REGION = "123456789012", "us-east-1"
# IAM actions whose name is not the operation's: HeadObject needs GetObject, ListObjectsV2
# needs ListBucket, Invoke is InvokeFunction.
IAM_ACTION = {
    ("s3", "head_object"): "s3:GetObject",
    ("s3", "list_objects_v2"): "s3:ListBucket",
    ("lambda", "invoke"): "lambda:InvokeFunction",
}


@cache
def operations(service: str) -> frozenset[str]:
    model = botocore.session.get_session().get_service_model(service)
    return frozenset(xform_name(name) for name in model.operation_names)


def sources() -> list[Path]:
    return [PROJECT / "app.py", *sorted((PROJECT / "chalicelib").rglob("*.py"))]


def calls_in(path: Path) -> set[tuple[str, str]]:
    """(service, operation) pairs a module's code makes."""
    tree = ast.parse(path.read_text(), str(path))
    services, names = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            function = node.func
            name = getattr(function, "attr", None) or getattr(function, "id", None)
            first = node.args[0] if node.args else None
            literal = isinstance(first, ast.Constant) and isinstance(first.value, str)
            if name in CLIENT_BUILDERS and literal:
                services.add(first.value)
            if isinstance(function, ast.Attribute):
                names.add(function.attr)
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            names.add(node.value)
    return {(service, name) for service in services for name in names & operations(service)}


def code_calls() -> set[tuple[str, str]]:
    return {call for path in sources() for call in calls_in(path)}


@cache
def iam_action(service: str, operation: str) -> str:
    if (service, operation) in IAM_ACTION:
        return IAM_ACTION[(service, operation)]
    model = botocore.session.get_session().get_service_model(service)
    [name] = [op for op in model.operation_names if xform_name(op) == operation]
    return f"{model.signing_name}:{name}"


def config() -> dict:
    return json.loads((PROJECT / ".chalice" / "config.json").read_text())


def stage(name: str) -> dict:
    return config()["stages"][name]


def policies(name: str) -> dict[str, list[dict]]:
    """Each function's policy statements in the stage."""
    functions = stage(name)["lambda_functions"]
    return {
        function: json.loads((PROJECT / ".chalice" / settings["iam_policy_file"]).read_text())[
            "Statement"
        ]
        for function, settings in functions.items()
    }


def as_list(value) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def matches(statement: dict, action: str, resource: str) -> bool:
    actions = as_list(statement.get("Action", []))
    resources = as_list(statement.get("Resource", []))
    return any(fnmatchcase(action.lower(), a.lower()) for a in actions) and any(
        fnmatchcase(resource, r) for r in resources
    )


def allowed(statements: list[dict], action: str, resource: str) -> bool:
    """Whether an Allow statement (and no Deny) grants the action on the concrete ARN."""
    effects = {s["Effect"] for s in statements if matches(s, action, resource)}
    return effects == {"Allow"}


def names(stage_name: str) -> dict[str, str]:
    variables = {**config()["environment_variables"], **stage(stage_name)["environment_variables"]}
    return {
        "bucket": variables["LAKE_URI"].removeprefix("s3://").split("/", 1)[0],
        "database": variables["GLUE_DATABASE"],
        "workgroup": variables["ATHENA_WORKGROUP"],
        "secret": variables["SPOTIFY_SECRET_ID"],
        "functions": (variables["EXTRACT_FUNCTION"], variables["REPLAY_FUNCTION"]),
    }


def need(service: str, operation: str, params: dict, stage_name: str) -> tuple[str, str]:
    """The (IAM action, concrete resource ARN) one recorded call needs."""
    n = names(stage_name)
    action = iam_action(service, operation)
    if service == "s3":
        bucket = f"arn:aws:s3:::{params['Bucket']}"
        return action, f"{bucket}/{params['Key']}" if "Key" in params else bucket
    if service == "athena":
        return action, f"arn:aws:athena:{REGION}:{ACCOUNT}:workgroup/{n['workgroup']}"
    if service == "secretsmanager":
        secret = params["SecretId"]
        return action, f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{secret}-AbC123"
    if service == "lambda":
        return action, f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{params['FunctionName']}"
    raise AssertionError(f"no resource rule for {service}.{operation}: add one to this test")


def on_behalf(stage_name: str, function: str) -> list[tuple[str, str]]:
    """What AWS does with a function's role: Lambda writes its logs and, for an
    asynchronous invocation that failed, sends the event to the failure queue; Athena,
    running the API's queries, reads the Glue catalog (AWS's Athena guide requires the
    `default` database as well) and the tables' Parquet, and writes results under
    athena-results/ in multipart uploads it may list and abort."""
    n = names(stage_name)
    deployed = f"spotify-etl-{stage_name}" + ("" if function == "api_handler" else f"-{function}")
    group = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/{deployed}"
    needs = [
        ("logs:CreateLogGroup", group),
        *[(a, f"{group}:log-stream:2026/12/03/[$LATEST]0f8f") for a in
          ("logs:CreateLogStream", "logs:PutLogEvents")],
    ]  # fmt: skip
    if function in ASYNCHRONOUS:
        queue = f"arn:aws:sqs:{REGION}:{ACCOUNT}:spotify-etl-{stage_name}-failures"
        needs.append(("sqs:SendMessage", queue))
    if function != "api_handler":
        return needs
    glue = f"arn:aws:glue:{REGION}:{ACCOUNT}"
    bucket = f"arn:aws:s3:::{n['bucket']}"
    results = f"{bucket}/athena-results/0f8fad5b.csv"
    return [
        *needs,
        *[
            (action, arn)
            for action in ("glue:GetDatabase", "glue:GetTable", "glue:GetPartitions",
                           "glue:BatchGetPartition")
            for arn in (f"{glue}:catalog", f"{glue}:database/{n['database']}",
                        f"{glue}:table/{n['database']}/plays")
        ],
        ("glue:GetDatabase", f"{glue}:database/default"),
        ("s3:GetObject", f"{bucket}/processed/plays/played_month=x/data.parquet"),
        ("s3:GetBucketLocation", bucket),
        ("s3:ListBucketMultipartUploads", bucket),
        *[(action, results) for action in ("s3:PutObject", "s3:GetObject",
                                           "s3:AbortMultipartUpload",
                                           "s3:ListMultipartUploadParts")],
        ("athena:GetWorkGroup", f"arn:aws:athena:{REGION}:{ACCOUNT}:workgroup/{n['workgroup']}"),
    ]  # fmt: skip


def in_stage(arn: str, stage_name: str) -> str:
    """A dev ARN as the other stage names it (the stages differ only in that word)."""
    return arn.replace("dev", stage_name)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> dict[str, list[tuple[str, str, dict]]]:
    """Every function's recorded AWS calls, the scenario run once for the module."""
    with (
        pytest.MonkeyPatch.context() as monkeypatch,
        recorded_run(tmp_path_factory.mktemp("scenario"), monkeypatch) as calls,
    ):
        return calls


def test_the_code_makes_the_aws_calls_this_test_knows_of(record_property):
    calls = code_calls()
    record_property("figure:aws calls checked against the policies", len(calls))
    assert calls == {
        ("s3", "put_object"),
        ("s3", "get_object"),
        ("s3", "head_object"),
        ("s3", "list_objects_v2"),
        ("s3", "delete_object"),
        ("athena", "start_query_execution"),
        ("athena", "get_query_execution"),
        ("athena", "get_query_results"),
        ("secretsmanager", "get_secret_value"),
        ("secretsmanager", "put_secret_value"),
        ("lambda", "invoke"),
    }, "a new AWS call: check the stage policies allow it, then list it here"


def deployed_functions() -> set[str]:
    """The Lambda functions Chalice deploys for the app: the REST API's and the others."""
    others = [*app.pure_lambda_functions, *app.event_sources]
    return {"api_handler", *(function.name for function in others)}


def test_every_function_has_its_own_policy_file_as_glue_policies_writes_it():
    for stage_name in STAGES:
        functions = stage(stage_name)["lambda_functions"]
        assert set(functions) == set(FUNCTIONS) == deployed_functions()
        files = [settings["iam_policy_file"] for settings in functions.values()]
        assert len(set(files)) == len(files)
        assert "iam_policy_file" not in stage(stage_name)
    assert policies_main(["--check"]) == 0, "run python glue/policies.py"


def test_the_scenario_ran_every_function_and_every_call_the_code_makes(recorded):
    assert set(recorded) == set(FUNCTIONS)
    seen = {(service, operation) for calls in recorded.values() for service, operation, _ in calls}
    assert seen == code_calls()


@pytest.mark.parametrize("stage_name", STAGES)
def test_each_function_is_allowed_every_call_it_made(recorded, stage_name):
    statements = policies(stage_name)
    refused = [
        (function, action, in_stage(arn, stage_name))
        for function, calls in recorded.items()
        for service, operation, params in calls
        for action, arn in [need(service, operation, params, "dev")]
        if not allowed(statements[function], action, in_stage(arn, stage_name))
    ]
    assert refused == []


@pytest.mark.parametrize("stage_name", STAGES)
def test_what_aws_does_on_each_functions_behalf_is_allowed(stage_name):
    statements = policies(stage_name)
    refused = [
        (function, *wanted)
        for function in FUNCTIONS
        for wanted in on_behalf(stage_name, function)
        if not allowed(statements[function], *wanted)
    ]
    assert refused == []


@pytest.mark.parametrize("stage_name", STAGES)
def test_no_function_is_granted_what_neither_its_code_nor_aws_needs(recorded, stage_name):
    """Every action of a statement is needed on one of its resources, and every resource by
    one of its actions, by a call a function of its kind made (they run the same code) or by
    AWS on the function's behalf."""
    by_kind: dict[str, set[tuple[str, str]]] = {}
    for function, calls in recorded.items():
        by_kind.setdefault(FUNCTIONS[function], set()).update(
            (action, in_stage(arn, stage_name))
            for service, operation, params in calls
            for action, arn in [need(service, operation, params, "dev")]
        )
    unneeded = []
    for function, statements in policies(stage_name).items():
        needed = by_kind[FUNCTIONS[function]] | set(on_behalf(stage_name, function))
        for statement in statements:
            for field in ("Action", "Resource"):
                for value in as_list(statement[field]):
                    grant = {**statement, field: value}
                    if not any(matches(grant, *wanted) for wanted in needed):
                        unneeded.append((function, statement["Sid"], value))
    assert unneeded == []


@pytest.mark.parametrize("stage_name", STAGES)
def test_no_policy_has_a_wildcard_action_or_resource(stage_name):
    assert stage(stage_name)["autogen_policy"] is False
    for function, statements in policies(stage_name).items():
        for statement in statements:
            assert statement["Effect"] == "Allow" and "NotAction" not in statement
            for action in as_list(statement["Action"]):
                assert "*" not in action, (function, statement["Sid"], action)
            for resource in as_list(statement["Resource"]):
                assert resource != "*" and not resource.endswith(":*:*:*"), (function, resource)


@pytest.mark.parametrize("stage_name", STAGES)
def test_every_resource_is_scoped_to_the_stages_own_names(stage_name):
    n = names(stage_name)
    own = (n["bucket"], n["database"], n["workgroup"], n["secret"], *n["functions"],
           f"spotify-etl-{stage_name}")  # fmt: skip
    for function, statements in policies(stage_name).items():
        for statement in statements:
            for resource in as_list(statement["Resource"]):
                scoped = any(name in resource for name in own)
                glue_shared = resource.endswith((":catalog", ":database/default"))
                assert scoped or glue_shared, (function, statement["Sid"], resource)
        other = next(s for s in STAGES if s != stage_name)
        assert other not in json.dumps(statements), function


def test_the_policy_check_refuses_what_it_should():
    statements = policies("dev")
    for function, granted in statements.items():
        for prefix in ("raw", "processed", "state", "runs", "quarantine"):
            arn = f"arn:aws:s3:::spotify-etl-dev-lake/{prefix}/x"
            assert not allowed(granted, "s3:DeleteObject", arn), function
        assert not allowed(granted, "s3:GetObject", "arn:aws:s3:::spotify-etl-prod-lake/raw/x")
        assert not allowed(granted, "s3:PutObject", "arn:aws:s3:::spotify-etl-dev-lake/other/x")
    secret = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:spotify-etl/dev-AbC123"
    assert allowed(statements["plays"], "secretsmanager:GetSecretValue", secret)
    assert not allowed(statements["api_handler"], "secretsmanager:GetSecretValue", secret)
    assert not allowed(statements["on_manifest"], "secretsmanager:GetSecretValue", secret)
    run_extract = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:spotify-etl-dev-run_extract"
    assert not allowed(statements["plays"], "lambda:InvokeFunction", run_extract)
    raw = "arn:aws:s3:::spotify-etl-dev-lake/raw/account_id=x/2026-12-03/r/plays.json.gz"
    assert not allowed(statements["api_handler"], "s3:PutObject", raw)
    for app_wide in ("state/extract-lease.json", "state/accounts.json"):
        arn = f"arn:aws:s3:::spotify-etl-dev-lake/{app_wide}"
        for function in ("on_manifest", "replay", "on_import"):
            assert not allowed(statements[function], "s3:PutObject", arn), (function, arn)
    lease = "arn:aws:s3:::spotify-etl-dev-lake/state/extract-lease.json"
    assert not allowed(statements["api_handler"], "s3:PutObject", lease)
    assert not allowed(statements["api_handler"], "s3:GetObject", lease)
    cursor = "arn:aws:s3:::spotify-etl-dev-lake/state/account_id=x/plays_cursor.json"
    assert not allowed(statements["api_handler"], "s3:GetObject", cursor)
    assert not allowed(statements["on_import"], "s3:GetObject", cursor)
    workgroup = f"arn:aws:athena:{REGION}:{ACCOUNT}:workgroup/spotify-etl-dev"
    assert not allowed(statements["plays"], "athena:StartQueryExecution", workgroup)


def crawler_needs(stage_name: str) -> list[tuple[str, str]]:
    """What a Glue crawler does with its role (AWS's AWSGlueServiceRole, narrowed to ours):
    lists and reads the processed tables' objects, reads the database and tables and adds
    or updates their partitions (our crawler adds partitions and new columns only), and
    writes its logs under /aws-glue/crawlers."""
    n = names(stage_name)
    glue = f"arn:aws:glue:{REGION}:{ACCOUNT}"
    catalog = (f"{glue}:catalog", f"{glue}:database/{n['database']}",
               f"{glue}:table/{n['database']}/plays")  # fmt: skip
    actions = ("GetDatabase", "GetTable", "GetTables", "UpdateTable", "GetPartition",
               "GetPartitions", "BatchGetPartition", "CreatePartition", "BatchCreatePartition",
               "UpdatePartition", "BatchUpdatePartition")  # fmt: skip
    logs = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws-glue/crawlers"
    return [
        ("s3:GetObject", f"arn:aws:s3:::{n['bucket']}/processed/plays/played_month=x/p.parquet"),
        ("s3:ListBucket", f"arn:aws:s3:::{n['bucket']}"),
        *[(f"glue:{action}", arn) for action in actions for arn in catalog],
        *[(action, logs) for action in
          ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents")],
    ]  # fmt: skip


@pytest.mark.parametrize("stage_name", STAGES)
def test_the_crawlers_policy_allows_what_it_does_and_nothing_more(stage_name):
    from glue.provision import crawler_policy
    from spotify_etl.stage import Stage

    stage = Stage.from_config(PROJECT / ".chalice" / "config.json", stage_name)
    statements = crawler_policy(stage)["Statement"]
    needs = crawler_needs(stage_name)
    assert [need for need in needs if not allowed(statements, *need)] == []
    unneeded = [
        (field, value)
        for statement in statements
        for field in ("Action", "Resource")
        for value in as_list(statement[field])
        if not any(matches({**statement, field: value}, *need) for need in needs)
    ]
    assert unneeded == []
    other = next(s for s in STAGES if s != stage_name)
    assert other not in json.dumps(statements)
