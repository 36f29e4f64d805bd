"""The hand-written stage policies: linted, and checked to allow every AWS call the code makes.

The calls are found statically: every module of chalicelib/ and app.py is parsed with `ast`;
a module's services are the ones it builds clients for (`client("s3")`, through
chalicelib.aws, the one place clients are made), and its operations are the names it calls
on a client or passes as a string (`self._call("put_object", ...)`,
`get_paginator("list_objects_v2")`) that are operations of those services in botocore's own
models. `glue/setup.py` is left out: it runs
with the deployer's credentials, not the Lambda role.
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

PROJECT = Path(__file__).resolve().parents[2]
STAGES = ("dev", "prod")
CLIENT_BUILDERS = {"client"}
LAKE_PREFIXES = ("raw", "processed", "state", "runs", "quarantine", "imports")
# The prefixes an S3 action is needed on where that is not all of them: the one deletion
# the pipeline makes is of an imported upload.
S3_PREFIXES = {"s3:DeleteObject": ("imports",)}
ACCOUNT, REGION = "123456789012", "us-east-1"
# IAM actions whose name is not the operation's: HeadObject needs GetObject, ListObjectsV2
# needs ListBucket, Invoke is InvokeFunction.
IAM_ACTION = {
    ("s3", "head_object"): "s3:GetObject",
    ("s3", "list_objects_v2"): "s3:ListBucket",
    ("lambda", "invoke"): "lambda:InvokeFunction",
}
# `"Resource": "*"` where AWS offers no narrower resource, with the reason. None is needed:
# every action the functions use takes a resource ARN.
WILDCARD_RESOURCES: dict[str, str] = {}


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


def iam_action(service: str, operation: str) -> str:
    if (service, operation) in IAM_ACTION:
        return IAM_ACTION[(service, operation)]
    model = botocore.session.get_session().get_service_model(service)
    [name] = [op for op in model.operation_names if xform_name(op) == operation]
    return f"{model.signing_name}:{name}"


def stage(name: str) -> dict:
    config = json.loads((PROJECT / ".chalice" / "config.json").read_text())
    return config["stages"][name]


def policy(name: str) -> list[dict]:
    text = (PROJECT / ".chalice" / stage(name)["iam_policy_file"]).read_text()
    return json.loads(text)["Statement"]


def as_list(value) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def allowed(statements: list[dict], action: str, resource: str) -> bool:
    """Whether an Allow statement (and no Deny) grants the action on the concrete ARN."""

    def matches(statement: dict) -> bool:
        actions = as_list(statement.get("Action", []))
        resources = as_list(statement.get("Resource", []))
        return any(fnmatchcase(action.lower(), a.lower()) for a in actions) and any(
            fnmatchcase(resource, r) for r in resources
        )

    effects = {s["Effect"] for s in statements if matches(s)}
    return effects == {"Allow"}


def names(stage_name: str) -> dict[str, str]:
    variables = stage(stage_name)["environment_variables"]
    return {
        "bucket": variables["LAKE_URI"].removeprefix("s3://").split("/", 1)[0],
        "database": variables["GLUE_DATABASE"],
        "workgroup": variables["ATHENA_WORKGROUP"],
        "secret": variables["SPOTIFY_SECRET_ID"],
        "functions": (variables["EXTRACT_FUNCTION"], variables["REPLAY_FUNCTION"]),
    }


def needs(stage_name: str, service: str, operation: str) -> list[tuple[str, str]]:
    """The (IAM action, concrete resource ARN) pairs one call of the code needs in a stage."""
    n = names(stage_name)
    action = iam_action(service, operation)
    if service == "s3" and action == "s3:ListBucket":
        return [(action, f"arn:aws:s3:::{n['bucket']}")]
    if service == "s3":
        prefixes = S3_PREFIXES.get(action, LAKE_PREFIXES)
        return [(action, f"arn:aws:s3:::{n['bucket']}/{p}/2026-11-26/x.json") for p in prefixes]
    if service == "athena":
        return [(action, f"arn:aws:athena:{REGION}:{ACCOUNT}:workgroup/{n['workgroup']}")]
    if service == "secretsmanager":
        arn = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{n['secret']}-AbC123"
        return [(action, arn)]
    if service == "lambda":
        return [(action, f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{f}") for f in n["functions"]]
    raise AssertionError(f"no resource rule for {service}.{operation}: add one to this test")


def athena_needs(stage_name: str) -> list[tuple[str, str]]:
    """What Athena does with the caller's rights on a query: reads the Glue tables and their
    Parquet, and writes results under athena-results/."""
    n = names(stage_name)
    glue = f"arn:aws:glue:{REGION}:{ACCOUNT}"
    table = f"{glue}:table/{n['database']}/plays"
    results = f"arn:aws:s3:::{n['bucket']}/athena-results/0f8fad5b.csv"
    return [
        *[
            (action, arn)
            for action in ("glue:GetDatabase", "glue:GetTable", "glue:GetPartitions")
            for arn in (f"{glue}:catalog", f"{glue}:database/{n['database']}", table)
        ],
        ("s3:GetObject", f"arn:aws:s3:::{n['bucket']}/processed/plays/played_date=x/data.parquet"),
        ("s3:ListBucket", f"arn:aws:s3:::{n['bucket']}"),
        ("s3:GetBucketLocation", f"arn:aws:s3:::{n['bucket']}"),
        ("s3:PutObject", results),
        ("s3:GetObject", results),
        ("athena:GetWorkGroup", f"arn:aws:athena:{REGION}:{ACCOUNT}:workgroup/{n['workgroup']}"),
    ]


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


@pytest.mark.parametrize("stage_name", STAGES)
def test_every_aws_call_the_code_makes_is_allowed_on_its_resource(stage_name):
    statements = policy(stage_name)
    missing = [
        (action, arn)
        for service, operation in sorted(code_calls())
        for action, arn in needs(stage_name, service, operation)
        if not allowed(statements, action, arn)
    ]
    assert missing == []


@pytest.mark.parametrize("stage_name", STAGES)
def test_what_athena_does_on_our_behalf_is_allowed(stage_name):
    statements = policy(stage_name)
    missing = [need for need in athena_needs(stage_name) if not allowed(statements, *need)]
    assert missing == []


@pytest.mark.parametrize("stage_name", STAGES)
def test_the_policy_has_no_wildcard_action_and_no_wildcard_resource_beyond_the_listed(
    stage_name,
):
    assert stage(stage_name)["autogen_policy"] is False
    for statement in policy(stage_name):
        assert statement["Effect"] == "Allow" and "NotAction" not in statement
        for action in as_list(statement["Action"]):
            assert "*" not in action, (statement["Sid"], action)
        for resource in as_list(statement["Resource"]):
            if resource == "*" or resource.endswith(":*:*:*"):
                assert statement["Sid"] in WILDCARD_RESOURCES, statement["Sid"]


@pytest.mark.parametrize("stage_name", STAGES)
def test_every_resource_is_scoped_to_the_stages_own_names(stage_name):
    n = names(stage_name)
    own = (n["bucket"], n["database"], n["workgroup"], n["secret"], *n["functions"])
    for statement in policy(stage_name):
        for resource in as_list(statement["Resource"]):
            scoped = any(name in resource for name in own) or resource.endswith(":catalog")
            logs = resource.startswith(
                f"arn:aws:logs:*:*:log-group:/aws/lambda/spotify-etl-{stage_name}"
            )
            assert scoped or logs, (statement["Sid"], resource)
    other = next(s for s in STAGES if s != stage_name)
    assert f"-{other}" not in json.dumps(policy(stage_name))


def test_the_policy_check_refuses_what_it_should():
    statements = policy("dev")
    for prefix in set(LAKE_PREFIXES) - set(S3_PREFIXES["s3:DeleteObject"]):
        arn = f"arn:aws:s3:::spotify-etl-dev-lake/{prefix}/x"
        assert not allowed(statements, "s3:DeleteObject", arn)
    assert not allowed(statements, "s3:GetObject", "arn:aws:s3:::spotify-etl-prod-lake/raw/x")
    assert not allowed(statements, "s3:PutObject", "arn:aws:s3:::spotify-etl-dev-lake/other/x")
    secret = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:spotify-etl/prod-AbC123"
    assert not allowed(statements, "secretsmanager:GetSecretValue", secret)
