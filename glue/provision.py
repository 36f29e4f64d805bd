"""Idempotent AWS setup for one stage: bucket, Glue database and tables, crawler, workgroup.

Every resource is read first and created or updated only where it differs from what the
stage needs (awswrangler's get-then-create-or-update habit), so a second run changes
nothing. Each step reports what it did, or with `dry_run` what it would do, and returns
without calling any write API. Clients are received, never built here.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.errors import ConfigError
from chalicelib.query.named import load_queries
from chalicelib.schema import TABLES
from glue.catalog import CRAWLER, PROJECTION, comparable, table_input, table_location
from glue.operations import (
    DEFAULT_PLAYS_ALARM_HOURS,
    MAX_ALARM_HOURS,
    Alarms,
    AlarmTopic,
    DashboardKey,
    Destinations,
    FailureQueue,
    alarms,
    lake_accounts,
)
from spotify_etl.stage import ATHENA_RESULTS, Stage

RESULTS_EXPIRE_DAYS = 30
SCAN_CUTOFF_BYTES = 1024**3  # 1 GiB, $0.005 a query at most; a year of one account is MBs
LIFECYCLE_RULE = "athena-results-expire"
CRAWLER_SCHEDULE = "cron(45 3 * * ? *)"  # 30 minutes after the daily snapshot at 03:15
CRAWLER_POLICY = "crawl-processed"
CRAWLER_CONFIGURATION = {
    "Version": 1.0,
    "CrawlerOutput": {
        "Partitions": {"AddOrUpdateBehavior": "InheritFromTable"},
        "Tables": {"AddOrUpdateBehavior": "MergeNewColumns"},
    },
    "Grouping": {"TableGroupingPolicy": "CombineCompatibleSchemas"},
}
# Incremental crawls require LOG for both; LOG also means our columns are never rewritten.
SCHEMA_CHANGE_POLICY = {"UpdateBehavior": "LOG", "DeleteBehavior": "LOG"}
RECRAWL_POLICY = {"RecrawlBehavior": "CRAWL_NEW_FOLDERS_ONLY"}
# Glue cannot assume a new IAM role until IAM has propagated it, commonly a few seconds.
ROLE_PROPAGATION_DELAYS = (2, 4, 8, 16, 30)
ROLE_NOT_ASSUMABLE = "unable to assume"
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def say(line: str) -> None:
    """Print a line; once the reader has gone (`| head`), print nothing more, so setup
    still finishes what it started."""
    try:
        print(line, flush=True)
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


@dataclass
class Changes:
    """What setup changed (or would change), printed as it goes."""

    dry_run: bool = False
    made: list[str] = field(default_factory=list)
    say: Callable[[str], None] = say

    def apply(self, description: str, action: Callable[[], Any]) -> None:
        """Do the change, or in a dry run only say it would be done."""
        self.made.append(description)
        self.say(f"would {description}" if self.dry_run else description)
        if not self.dry_run:
            action()

    def unchanged(self, description: str) -> None:
        self.say(f"unchanged: {description}")


@dataclass
class Clients:
    s3: Any
    glue: Any
    athena: Any
    iam: Any
    region: str
    account: str = ""
    sqs: Any = None
    lambda_: Any = None
    sns: Any = None
    cloudwatch: Any = None
    secrets: Any = None


@dataclass(frozen=True)
class Operations:
    """How the stage is watched: the alarm e-mail, and how long plays may stall."""

    alarm_email: str | None = None
    plays_alarm_hours: int | None = None  # None: what the alarm has, else the default

    def __post_init__(self) -> None:
        hours = self.plays_alarm_hours
        if hours is not None and not 1 <= hours <= MAX_ALARM_HOURS:
            raise ConfigError(f"--plays-alarm-hours must be 1-{MAX_ALARM_HOURS}, not {hours}")
        if self.alarm_email is not None and not EMAIL.fullmatch(self.alarm_email):
            raise ConfigError(f"--alarm-email {self.alarm_email!r} is not an e-mail address")


def set_up(
    stage: Stage,
    clients: Clients,
    changes: Changes,
    mode: str = PROJECTION,
    operations: Operations | None = None,
) -> None:
    """Bring the stage's resources to what the code expects; each step compares first."""
    operations = operations or Operations()
    new_bucket = Bucket(clients.s3, clients.region, changes).ensure(stage)
    Catalog(clients.glue, changes).ensure(stage, mode)
    crawler = Crawler(clients.glue, clients.iam, changes)
    if mode == CRAWLER:
        crawler.ensure(stage)
    else:
        crawler.remove(stage)
    Workgroup(clients.athena, changes).ensure(stage)
    queue = FailureQueue(clients.sqs, changes).ensure(stage, clients.region, clients.account)
    undeployed = Destinations(clients.lambda_, changes).ensure(stage, queue)
    topic = AlarmTopic(clients.sns, changes).ensure(
        stage, clients.region, clients.account, operations.alarm_email
    )
    watch = Alarms(clients.cloudwatch, changes)
    hours = operations.plays_alarm_hours or watch.plays_hours(stage) or DEFAULT_PLAYS_ALARM_HOURS
    held = [] if new_bucket else lake_accounts(clients.s3, stage, changes)
    watch.ensure(stage, alarms(stage, topic, hours, held))
    DashboardKey(clients.secrets, changes).ensure(stage)
    if undeployed:
        changes.say(
            f"note: not deployed yet: {', '.join(undeployed)}; after `chalice deploy --stage "
            f"{stage.name}`, run this again to give them their retries and failure queue"
        )


class Bucket:
    """The lake bucket: private, encrypted, query results expiring."""

    def __init__(self, client: Any, region: str, changes: Changes):
        self._client = client
        self._region = region
        self._changes = changes

    def ensure(self, stage: Stage) -> bool:
        """Create or correct the bucket; whether it is new (made now, or in a dry run to be)."""
        name = stage.bucket
        new = not self._exists(name)
        if new:
            self._changes.apply(f"create bucket {name}", lambda: self._create(name))
        # A new bucket's settings are set, not read: a dry run has no bucket to read, and the
        # real run then makes the changes its dry run listed (setting AWS's defaults is harmless).
        self._block_public_access(name, new)
        self._encrypt(name, new)
        self._expire_results(name, stage.prefix, new)
        return new

    def _exists(self, name: str) -> bool:
        try:
            self._client.head_bucket(Bucket=name)
        except ClientError as error:
            if _code(error) in ("404", "NoSuchBucket", "NotFound"):
                return False
            raise ConfigError(
                f"bucket {name} exists but is not yours ({_code(error)}); choose another LAKE_URI"
            ) from None
        return True

    def _create(self, name: str) -> None:
        options: dict[str, Any] = {"Bucket": name}
        if self._region != "us-east-1":
            options["CreateBucketConfiguration"] = {"LocationConstraint": self._region}
        self._client.create_bucket(**options)

    def _block_public_access(self, name: str, new: bool) -> None:
        wanted = {
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        }
        current = self._read(
            new,
            lambda: self._client.get_public_access_block(Bucket=name)[
                "PublicAccessBlockConfiguration"
            ],
            "NoSuchPublicAccessBlockConfiguration",
        )
        if current == wanted:
            return self._changes.unchanged(f"bucket {name} blocks public access")
        self._changes.apply(
            f"block public access to bucket {name}",
            lambda: self._client.put_public_access_block(
                Bucket=name, PublicAccessBlockConfiguration=wanted
            ),
        )

    def _encrypt(self, name: str, new: bool) -> None:
        rules = self._read(
            new,
            lambda: self._client.get_bucket_encryption(Bucket=name)[
                "ServerSideEncryptionConfiguration"
            ]["Rules"],
            "ServerSideEncryptionConfigurationNotFoundError",
        )
        if rules:
            return self._changes.unchanged(f"bucket {name} is encrypted")
        configuration = {
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        }
        self._changes.apply(
            f"turn on SSE-S3 encryption of bucket {name}",
            lambda: self._client.put_bucket_encryption(
                Bucket=name, ServerSideEncryptionConfiguration=configuration
            ),
        )

    def _expire_results(self, name: str, prefix: str, new: bool) -> None:
        wanted = {
            "ID": LIFECYCLE_RULE,
            "Filter": {"Prefix": f"{prefix}{ATHENA_RESULTS}"},
            "Status": "Enabled",
            "Expiration": {"Days": RESULTS_EXPIRE_DAYS},
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
        }
        rules = (
            self._read(
                new,
                lambda: self._client.get_bucket_lifecycle_configuration(Bucket=name)["Rules"],
                "NoSuchLifecycleConfiguration",
            )
            or []
        )
        ours = next((rule for rule in rules if rule.get("ID") == LIFECYCLE_RULE), None)
        if ours is not None and {key: ours.get(key) for key in wanted} == wanted:
            return self._changes.unchanged(f"query results in {name} expire")
        others = [rule for rule in rules if rule.get("ID") != LIFECYCLE_RULE]
        self._changes.apply(
            f"expire {prefix}{ATHENA_RESULTS} in bucket {name} after {RESULTS_EXPIRE_DAYS} days",
            lambda: self._client.put_bucket_lifecycle_configuration(
                Bucket=name, LifecycleConfiguration={"Rules": [*others, wanted]}
            ),
        )

    @staticmethod
    def _read(new: bool, getter: Callable[[], Any], missing_code: str) -> Any:
        """A setting of the bucket, None where it has none (a new bucket has none yet)."""
        if new:
            return None
        try:
            return getter()
        except ClientError as error:
            if _code(error) == missing_code:
                return None
            raise


class Catalog:
    """The Glue database and the nine tables of chalicelib.schema."""

    def __init__(self, client: Any, changes: Changes):
        self._client = client
        self._changes = changes

    def ensure(self, stage: Stage, mode: str) -> None:
        if not self._database_exists(stage.database):
            self._changes.apply(
                f"create Glue database {stage.database}",
                lambda: self._client.create_database(
                    DatabaseInput={
                        "Name": stage.database,
                        "Description": "Spotify account history (spotify-etl)",
                    }
                ),
            )
        for table in TABLES.values():
            self._ensure_table(stage, table_input(table, stage.bucket, stage.prefix, mode), mode)

    def _database_exists(self, name: str) -> bool:
        try:
            self._client.get_database(Name=name)
        except self._client.exceptions.EntityNotFoundException:
            return False
        return True

    def _ensure_table(self, stage: Stage, wanted: dict[str, Any], mode: str) -> None:
        name, database = wanted["Name"], stage.database
        try:
            current = self._client.get_table(DatabaseName=database, Name=name)["Table"]
        except self._client.exceptions.EntityNotFoundException:
            return self._changes.apply(
                f"create table {database}.{name} ({mode})",
                lambda: self._client.create_table(DatabaseName=database, TableInput=wanted),
            )
        differences = _table_differences(comparable(current), comparable(wanted), mode)
        if not differences:
            return self._changes.unchanged(f"table {database}.{name}")
        merged = _merge_parameters(wanted, current.get("Parameters", {}))
        self._changes.apply(
            f"update table {database}.{name} ({', '.join(differences)})",
            lambda: self._client.update_table(DatabaseName=database, TableInput=merged),
        )


def _table_differences(current: dict[str, Any], wanted: dict[str, Any], mode: str) -> list[str]:
    """What differs, ignoring parameters Glue or a crawler added beside ours."""
    differing = [key for key in wanted if key != "Parameters" and current[key] != wanted[key]]
    ours = wanted["Parameters"]
    parameters = current["Parameters"]
    stale = mode == CRAWLER and any(key.startswith("projection.") for key in parameters)
    if stale or any(parameters.get(key) != value for key, value in ours.items()):
        differing.append("Parameters")
    return differing


def _merge_parameters(wanted: dict[str, Any], current: dict[str, str]) -> dict:
    kept = {
        key: value
        for key, value in current.items()
        if not key.startswith("projection.") and key != "storage.location.template"
    }
    return {**wanted, "Parameters": {**kept, **wanted["Parameters"]}}


class Crawler:
    """In crawler mode: a scheduled, incremental crawler that only adds partitions."""

    def __init__(
        self, glue: Any, iam: Any, changes: Changes, sleep: Callable[[float], None] = time.sleep
    ):
        self._glue = glue
        self._iam = iam
        self._changes = changes
        self._sleep = sleep

    def ensure(self, stage: Stage) -> None:
        role_arn = CrawlerRole(self._iam, self._changes).ensure(stage)
        wanted = crawler_input(stage, role_arn)
        try:
            current = self._glue.get_crawler(Name=stage.crawler)["Crawler"]
        except self._glue.exceptions.EntityNotFoundException:
            return self._changes.apply(
                f"create crawler {stage.crawler} ({wanted['Schedule']})",
                lambda: self._send(self._glue.create_crawler, wanted, new_role=True),
            )
        differences = _crawler_differences(current, wanted)
        if not differences:
            return self._changes.unchanged(f"crawler {stage.crawler}")
        self._changes.apply(
            f"update crawler {stage.crawler} ({', '.join(differences)})",
            lambda: self._send(self._glue.update_crawler, wanted, new_role="Role" in differences),
        )

    def _send(self, call: Callable[..., Any], request: dict[str, Any], new_role: bool) -> Any:
        """Call Glue; with a new role, wait (a minute at most) while IAM propagates it."""
        for delay in ROLE_PROPAGATION_DELAYS if new_role else ():
            try:
                return call(**request)
            except self._glue.exceptions.InvalidInputException as error:
                if ROLE_NOT_ASSUMABLE not in _message(error).lower():
                    raise
            self._sleep(delay)
        return call(**request)

    def remove(self, stage: Stage) -> None:
        """Projection needs no crawler: delete one a crawler-mode setup left."""
        try:
            self._glue.get_crawler(Name=stage.crawler)
        except self._glue.exceptions.EntityNotFoundException:
            return
        self._changes.apply(
            f"delete crawler {stage.crawler} (partition projection replaces it)",
            lambda: self._glue.delete_crawler(Name=stage.crawler),
        )


def crawler_input(stage: Stage, role_arn: str) -> dict[str, Any]:
    """The crawler over processed/: one S3 target per table, keeping our schema."""
    return {
        "Name": stage.crawler,
        "Role": role_arn,
        "DatabaseName": stage.database,
        "Description": "Adds new partitions of the processed tables after the daily run",
        "Targets": {
            "S3Targets": [
                {"Path": table_location(stage.bucket, stage.prefix, table)}
                for table in TABLES.values()
            ]
        },
        "Schedule": CRAWLER_SCHEDULE,
        "SchemaChangePolicy": SCHEMA_CHANGE_POLICY,
        "RecrawlPolicy": RECRAWL_POLICY,
        "Configuration": json.dumps(CRAWLER_CONFIGURATION),
    }


def _crawler_differences(current: dict[str, Any], wanted: dict[str, Any]) -> list[str]:
    seen = {
        "Role": current.get("Role"),
        "DatabaseName": current.get("DatabaseName"),
        "Targets": {"S3Targets": [{"Path": t["Path"]} for t in current["Targets"]["S3Targets"]]}
        if current.get("Targets", {}).get("S3Targets")
        else current.get("Targets"),
        "Schedule": current.get("Schedule", {}).get("ScheduleExpression"),
        "SchemaChangePolicy": current.get("SchemaChangePolicy"),
        "RecrawlPolicy": current.get("RecrawlPolicy"),
        "Configuration": json.loads(current.get("Configuration") or "{}"),
    }
    target = {**wanted, "Configuration": json.loads(wanted["Configuration"])}
    return [key for key in seen if seen[key] != target[key]]


class CrawlerRole:
    """The crawler's IAM role, allowed only what crawling processed/ into the database needs
    (narrower than the managed AWSGlueServiceRole, which reads every bucket named aws-glue-*)."""

    def __init__(self, client: Any, changes: Changes):
        self._client = client
        self._changes = changes

    def ensure(self, stage: Stage) -> str:
        name = stage.crawler_role
        try:
            arn = self._client.get_role(RoleName=name)["Role"]["Arn"]
        except self._client.exceptions.NoSuchEntityException:
            self._changes.apply(f"create IAM role {name}", lambda: self._create(name))
            # A new role has no policy to read (in a dry run, no role at all): set it.
            self._put_policy(name, stage)
            if self._changes.dry_run:
                return f"arn:aws:iam::<account>:role/{name}"
            return self._client.get_role(RoleName=name)["Role"]["Arn"]
        self._allow_crawling(name, stage)
        return arn

    def _create(self, name: str) -> None:
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "glue.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
        self._client.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))

    def _allow_crawling(self, name: str, stage: Stage) -> None:
        wanted = crawler_policy(stage)
        try:
            current = self._client.get_role_policy(RoleName=name, PolicyName=CRAWLER_POLICY)
            document = current["PolicyDocument"]
            if isinstance(document, str):
                document = json.loads(document)
        except self._client.exceptions.NoSuchEntityException:
            document = None
        if document == wanted:
            return self._changes.unchanged(f"role {name} may crawl processed/")
        self._put_policy(name, stage)

    def _put_policy(self, name: str, stage: Stage) -> None:
        document = json.dumps(crawler_policy(stage))
        self._changes.apply(
            f"let role {name} crawl {stage.prefix}processed/ into {stage.database}",
            lambda: self._client.put_role_policy(
                RoleName=name, PolicyName=CRAWLER_POLICY, PolicyDocument=document
            ),
        )


def crawler_policy(stage: Stage) -> dict[str, Any]:
    """Read processed/, add partitions to the stage's tables, write the crawler's logs."""
    processed = f"{stage.prefix}processed/"
    glue = "arn:aws:glue:*:*"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{stage.bucket}/{processed}*",
            },
            {
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": f"arn:aws:s3:::{stage.bucket}",
                "Condition": {"StringLike": {"s3:prefix": [f"{processed}*"]}},
            },
            {
                "Effect": "Allow",
                "Action": [
                    "glue:GetDatabase",
                    "glue:GetTable",
                    "glue:GetTables",
                    "glue:UpdateTable",
                    "glue:GetPartition",
                    "glue:GetPartitions",
                    "glue:BatchGetPartition",
                    "glue:CreatePartition",
                    "glue:BatchCreatePartition",
                    "glue:UpdatePartition",
                    "glue:BatchUpdatePartition",
                ],
                "Resource": [
                    f"{glue}:catalog",
                    f"{glue}:database/{stage.database}",
                    f"{glue}:table/{stage.database}/*",
                ],
            },
            {
                "Effect": "Allow",
                "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": "arn:aws:logs:*:*:log-group:/aws-glue/crawlers*",
            },
        ],
    }


class Workgroup:
    """The Athena workgroup (enforced results location, encryption, scan cutoff) and the
    named queries of chalicelib/queries."""

    def __init__(self, client: Any, changes: Changes):
        self._client = client
        self._changes = changes

    def ensure(self, stage: Stage) -> None:
        wanted = workgroup_configuration(stage)
        current = self._work_group(stage.workgroup)
        if current is None:
            self._changes.apply(
                f"create Athena workgroup {stage.workgroup}",
                lambda: self._client.create_work_group(
                    Name=stage.workgroup,
                    Configuration=wanted,
                    Description=f"spotify-etl {stage.name}: named queries and the REST API",
                ),
            )
            if self._changes.dry_run:
                return self._named_queries(stage, {})
        else:
            self._update(stage.workgroup, current.get("Configuration", {}), wanted)
        self._named_queries(stage, self._existing_queries(stage.workgroup))

    def _work_group(self, name: str) -> dict[str, Any] | None:
        try:
            return self._client.get_work_group(WorkGroup=name).get("WorkGroup")
        except self._client.exceptions.InvalidRequestException:
            return None

    def _update(self, name: str, current: dict[str, Any], wanted: dict[str, Any]) -> None:
        differences = [key for key, value in wanted.items() if current.get(key) != value]
        if not differences:
            return self._changes.unchanged(f"workgroup {name}")
        updates = {
            "ResultConfigurationUpdates": wanted["ResultConfiguration"],
            "EnforceWorkGroupConfiguration": wanted["EnforceWorkGroupConfiguration"],
            "PublishCloudWatchMetricsEnabled": wanted["PublishCloudWatchMetricsEnabled"],
            "BytesScannedCutoffPerQuery": wanted["BytesScannedCutoffPerQuery"],
        }
        self._changes.apply(
            f"update workgroup {name} ({', '.join(differences)})",
            lambda: self._client.update_work_group(WorkGroup=name, ConfigurationUpdates=updates),
        )

    def _existing_queries(self, workgroup: str) -> dict[str, dict[str, Any]]:
        existing: dict[str, dict[str, Any]] = {}
        paginator = self._client.get_paginator("list_named_queries")
        for page in paginator.paginate(WorkGroup=workgroup):
            for query_id in page.get("NamedQueryIds", []):
                query = self._client.get_named_query(NamedQueryId=query_id)["NamedQuery"]
                existing[query["Name"]] = query
        return existing

    def _named_queries(self, stage: Stage, existing: dict[str, dict[str, Any]]) -> None:
        for query in load_queries().values():
            wanted = {
                "Name": query.name,
                "Database": stage.database,
                "QueryString": query.sql,
                "Description": query.description[:1024],
                "WorkGroup": stage.workgroup,
            }
            self._ensure_query(wanted, existing.get(query.name))

    def _ensure_query(self, wanted: dict[str, Any], current: dict[str, Any] | None) -> None:
        name = wanted["Name"]
        if current is None:
            return self._changes.apply(
                f"create named query {name}",
                lambda: self._client.create_named_query(**wanted),
            )
        differing = [key for key in wanted if current.get(key) != wanted[key]]
        if not differing:
            return self._changes.unchanged(f"named query {name}")
        if "Database" in differing:  # UpdateNamedQuery cannot move a query to another database

            def replace() -> None:
                self._client.delete_named_query(NamedQueryId=current["NamedQueryId"])
                self._client.create_named_query(**wanted)

            return self._changes.apply(f"replace named query {name} (Database)", replace)
        self._changes.apply(
            f"update named query {name} ({', '.join(differing)})",
            lambda: self._client.update_named_query(
                NamedQueryId=current["NamedQueryId"],
                Name=name,
                Description=wanted["Description"],
                QueryString=wanted["QueryString"],
            ),
        )


def workgroup_configuration(stage: Stage) -> dict[str, Any]:
    return {
        "ResultConfiguration": {
            "OutputLocation": stage.results_location,
            "EncryptionConfiguration": {"EncryptionOption": "SSE_S3"},
        },
        "EnforceWorkGroupConfiguration": True,
        "PublishCloudWatchMetricsEnabled": True,
        "BytesScannedCutoffPerQuery": SCAN_CUTOFF_BYTES,
    }


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _message(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Message", ""))
