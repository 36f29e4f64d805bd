"""docs/deployer-policy.json, the deployer's own rights: every call glue/setup.py and the
stage commands make (found statically, as tests/aws/test_iam.py finds the functions'),
and what `chalice deploy`, `delete` and `logs` call, is granted on the dev stage's own
resources, with a wildcard only where AWS has no narrower resource."""

from __future__ import annotations

import ast
import json
from pathlib import Path

from tests.aws.test_iam import allowed, as_list, iam_action, operations

ROOT = Path(__file__).resolve().parents[2]
POLICY = json.loads((ROOT / "docs" / "deployer-policy.json").read_text())["Statement"]
SOURCES = [
    *sorted((ROOT / "glue").glob("*.py")),
    *(ROOT / "spotify_etl" / name for name in ("cli.py", "failures.py", "auth.py")),
    ROOT / "chalicelib" / "links.py",
    ROOT / "chalicelib" / "secrets.py",
]
SERVICES = ("s3", "glue", "athena", "iam", "sqs", "lambda", "sns", "cloudwatch", "secretsmanager")
# Names that are operations of one service but called here on another's client.
ELSEWHERE = {("athena", "get_database")}
# Passed as a function rather than called: `self._send(self._glue.create_crawler, ...)`.
REFERENCED = {("glue", "create_crawler"), ("glue", "update_crawler")}
# S3 operations whose IAM action has another name.
S3_ACTIONS = {
    "head_bucket": "s3:ListBucket",
    "get_bucket_encryption": "s3:GetEncryptionConfiguration",
    "put_bucket_encryption": "s3:PutEncryptionConfiguration",
    "get_bucket_lifecycle_configuration": "s3:GetLifecycleConfiguration",
    "put_bucket_lifecycle_configuration": "s3:PutLifecycleConfiguration",
    "get_public_access_block": "s3:GetBucketPublicAccessBlock",
    "put_public_access_block": "s3:PutBucketPublicAccessBlock",
}
# What Chalice calls to deploy, delete and read logs (its deployer and `chalice logs`).
CHALICE = [
    "lambda:CreateFunction", "lambda:UpdateFunctionCode", "lambda:UpdateFunctionConfiguration",
    "lambda:DeleteFunction", "lambda:AddPermission", "lambda:RemovePermission",
    "lambda:GetPolicy", "lambda:GetLayerVersion", "iam:CreateRole", "iam:PutRolePolicy",
    "iam:DeleteRolePolicy", "iam:DeleteRole", "iam:PassRole", "events:PutRule",
    "events:PutTargets", "events:RemoveTargets", "events:DeleteRule",
    "s3:PutBucketNotification", "s3:GetBucketNotification", "apigateway:POST",
    "apigateway:PUT", "apigateway:GET", "apigateway:DELETE", "logs:FilterLogEvents",
]  # fmt: skip
# Resources without the stage's name, and why.
SHARED = {
    "*": "sns:ListTopics, cloudwatch:DescribeAlarms, logs:DescribeLogGroups take no resource",
    "arn:aws:glue:*:*:catalog": "Glue authorizes every catalog call on the account's catalog",
    "arn:aws:lambda:*:336392948345:layer:AWSSDKPandas-Python312:*": "AWS's pandas layer",
}


def deployer_calls() -> set[str]:
    names: set[str] = set()
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                names.add(node.func.attr)
    calls = {(s, n) for s in SERVICES for n in names & operations(s)} - ELSEWHERE | REFERENCED
    return {
        S3_ACTIONS[operation] if service == "s3" and operation in S3_ACTIONS
        else iam_action(service, operation).replace("monitoring:", "cloudwatch:")  # its signer
        for service, operation in calls
    }  # fmt: skip


def granted(action: str) -> bool:
    return any(action.lower() in (a.lower() for a in as_list(s["Action"])) for s in POLICY)


def test_every_call_of_setup_the_stage_commands_and_chalice_is_granted():
    calls = deployer_calls()
    assert {"sqs:ReceiveMessage", "cloudwatch:PutMetricAlarm", "glue:CreateCrawler"} <= calls
    assert [action for action in sorted(calls | set(CHALICE)) if not granted(action)] == []


def test_the_deployer_acts_on_the_dev_stage_alone():
    for statement in POLICY:
        for action in as_list(statement["Action"]):
            assert "*" not in action, (statement["Sid"], action)
        for resource in as_list(statement["Resource"]):
            own = any(name in resource for name in ("spotify-etl-dev", "spotify_etl_dev",
                                                     "spotify-etl/dev", "/restapis",
                                                     "/usageplans", "/apikeys"))  # fmt: skip
            assert own or resource in SHARED, (statement["Sid"], resource)
    prod = "arn:aws:lambda:us-east-1:123456789012:function:spotify-etl-prod-plays"
    assert not allowed(POLICY, "lambda:UpdateFunctionCode", prod)
    other_role = "arn:aws:iam::123456789012:role/admin"
    assert not allowed(POLICY, "iam:PassRole", other_role)
