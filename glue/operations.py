"""What running a stage for months needs, set up like the rest: compare first, change only
what differs, list it all in a dry run.

- The failure queue (SQS), and for each asynchronously invoked function its bounded retries
  and the queue as its on-failure destination, so no event is dropped after Lambda's
  retries (`spotify-etl failures` lists and redrives what lands there).
- The alarm topic (SNS) with an optional e-mail subscription, and the alarms on it: a
  snapshot failed or partial, no successful plays poll for some hours, an event waiting in
  the failure queue, a function's errors, and for each account of the lake's register
  (`state/accounts.json`) a scheduled run of that account failed or partial; an account
  forgotten since has its alarm removed. They watch the metrics chalicelib.metrics logs.
- The key that signs dashboard links, in Secrets Manager (created once, never printed).

A function that is not deployed yet is skipped with a note: `chalice deploy` needs the
bucket first, so setup runs before the first deploy and once more after it.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from typing import Any

from chalicelib.accounts import LegacyLakeError, registered
from chalicelib.lake import S3Lake
from chalicelib.metrics import NAMESPACE
from glue.policies import FUNCTIONS, deployed_name
from spotify_etl.stage import MAX_EVENT_AGE_SECONDS, RETRIES, Stage

QUEUE_RETENTION_SECONDS = 14 * 24 * 3600  # SQS's longest: two weeks to notice and redrive
QUEUE_ATTRIBUTES = {
    "MessageRetentionPeriod": str(QUEUE_RETENTION_SECONDS),
    "SqsManagedSseEnabled": "true",
}
DEFAULT_PLAYS_ALARM_HOURS = 6
MAX_ALARM_HOURS = 168  # CloudWatch evaluates at most 7 days of hourly periods
ERROR_PERIOD_SECONDS = 300
SCHEDULED = ("snapshot", "plays")  # the functions extracting every account on a schedule


class FailureQueue:
    """The stage's queue of events Lambda gave up on."""

    def __init__(self, client: Any, changes: Any):
        self._client = client
        self._changes = changes

    def ensure(self, stage: Stage, region: str, account: str) -> str:
        """Create or correct the queue; its ARN."""
        name = stage.failure_queue
        try:
            url = self._client.get_queue_url(QueueName=name)["QueueUrl"]
        except self._client.exceptions.QueueDoesNotExist:
            self._changes.apply(
                f"create SQS queue {name} (events that failed every retry, kept 14 days)",
                lambda: self._client.create_queue(QueueName=name, Attributes=QUEUE_ATTRIBUTES),
            )
            return queue_arn(region, account, name)
        current = self._client.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])
        attributes = current.get("Attributes", {})
        differing = {k: v for k, v in QUEUE_ATTRIBUTES.items() if attributes.get(k) != v}
        if not differing:
            self._changes.unchanged(f"queue {name}")
        else:
            self._changes.apply(
                f"update queue {name} ({', '.join(differing)})",
                lambda: self._client.set_queue_attributes(QueueUrl=url, Attributes=differing),
            )
        return attributes.get("QueueArn") or queue_arn(region, account, name)


def queue_arn(region: str, account: str, name: str) -> str:
    return f"arn:aws:sqs:{region}:{account}:{name}"


class Destinations:
    """Each asynchronous function's retries, event age and on-failure destination."""

    def __init__(self, client: Any, changes: Any):
        self._client = client
        self._changes = changes

    def ensure(self, stage: Stage, queue: str) -> list[str]:
        """Set each deployed function's invoke configuration; the functions not deployed."""
        missing = []
        for function, retries in RETRIES.items():
            name = stage.function(function)
            wanted = {
                "MaximumRetryAttempts": retries,
                "MaximumEventAgeInSeconds": MAX_EVENT_AGE_SECONDS,
                "DestinationConfig": {"OnFailure": {"Destination": queue}},
            }
            try:
                self._client.get_function(FunctionName=name)
            except self._client.exceptions.ResourceNotFoundException:
                missing.append(name)
                continue
            current = self._current(name)
            if current is not None and _same_invoke_config(current, wanted):
                self._changes.unchanged(f"retries and failure destination of {name}")
                continue
            self._changes.apply(
                f"send {name}'s failed events to {stage.failure_queue} after {retries} "
                f"retr{'y' if retries == 1 else 'ies'}",
                lambda name=name, wanted=wanted: self._client.put_function_event_invoke_config(
                    FunctionName=name, **wanted
                ),
            )
        return missing

    def _current(self, name: str) -> dict[str, Any] | None:
        try:
            return self._client.get_function_event_invoke_config(FunctionName=name)
        except self._client.exceptions.ResourceNotFoundException:
            return None


def _same_invoke_config(current: dict[str, Any], wanted: dict[str, Any]) -> bool:
    destination = current.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
    return (
        current.get("MaximumRetryAttempts") == wanted["MaximumRetryAttempts"]
        and current.get("MaximumEventAgeInSeconds") == wanted["MaximumEventAgeInSeconds"]
        and destination == wanted["DestinationConfig"]["OnFailure"]["Destination"]
    )


class AlarmTopic:
    """The SNS topic the alarms notify, with an optional e-mail subscription."""

    def __init__(self, client: Any, changes: Any):
        self._client = client
        self._changes = changes

    def ensure(self, stage: Stage, region: str, account: str, email: str | None) -> str:
        """The topic's ARN, created if missing; `email` subscribed if it is not yet."""
        name = stage.alarm_topic
        arn = f"arn:aws:sns:{region}:{account}:{name}"
        existing = self._topics()
        if arn not in existing:
            self._changes.apply(
                f"create SNS topic {name} (the alarms' notifications)",
                lambda: self._client.create_topic(Name=name),
            )
        else:
            self._changes.unchanged(f"topic {name}")
        if email is None:
            return arn
        subscribed = arn in existing and any(
            s.get("Protocol") == "email" and str(s.get("Endpoint")).lower() == email.lower()
            for s in self._subscriptions(arn)
        )
        if subscribed:
            self._changes.unchanged(f"{email} is subscribed to {name}")
        else:
            self._changes.apply(
                f"subscribe {email} to {name} (AWS e-mails a link to confirm it)",
                lambda: self._client.subscribe(TopicArn=arn, Protocol="email", Endpoint=email),
            )
        return arn

    def _topics(self) -> set[str]:
        pages = self._client.get_paginator("list_topics").paginate()
        return {topic["TopicArn"] for page in pages for topic in page.get("Topics", [])}

    def _subscriptions(self, arn: str) -> list[dict[str, Any]]:
        pages = self._client.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=arn)
        return [s for page in pages for s in page.get("Subscriptions", [])]


def alarms(
    stage: Stage, topic: str, plays_hours: int, accounts: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """The stage's alarms, as PutMetricAlarm takes them (one for each of `accounts`)."""
    notify = {"AlarmActions": [topic], "OKActions": [topic]}

    def ours(function: str, metric: str) -> dict[str, Any]:
        dimension = [{"Name": "Function", "Value": deployed_name(stage, function)}]
        return {"Namespace": NAMESPACE, "MetricName": metric, "Dimensions": dimension}

    wanted = [
        {
            "AlarmName": f"{stage.prefixed}-snapshot-incomplete",
            "AlarmDescription": "The daily snapshot failed or ended partial: see its run record "
            "(spotify-etl runs, GET /runs) and docs/DEPLOY.md §10.",
            **ours("snapshot", "RunsIncomplete"),
            "Statistic": "Sum", "Period": 3600, "EvaluationPeriods": 1,
            "Threshold": 1, "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "TreatMissingData": "notBreaching",
        },
        {
            "AlarmName": plays_alarm_name(stage),
            "AlarmDescription": f"No plays poll succeeded for {plays_hours} hours: plays "
            "older than the newest 50 are being lost. See docs/DEPLOY.md §10.",
            **ours("plays", "RunsSucceeded"),
            "Statistic": "Sum", "Period": 3600, "EvaluationPeriods": plays_hours,
            "DatapointsToAlarm": plays_hours,
            "Threshold": 1, "ComparisonOperator": "LessThanThreshold",
            "TreatMissingData": "breaching",
        },
        {
            "AlarmName": f"{stage.prefixed}-failures-waiting",
            "AlarmDescription": "An event failed every retry and waits in the failure queue: "
            "spotify-etl failures --stage " + stage.name + " lists it, --redrive replays it.",
            "Namespace": "AWS/SQS", "MetricName": "ApproximateNumberOfMessagesVisible",
            "Dimensions": [{"Name": "QueueName", "Value": stage.failure_queue}],
            "Statistic": "Maximum", "Period": 300, "EvaluationPeriods": 1,
            "Threshold": 0, "ComparisonOperator": "GreaterThanThreshold",
            "TreatMissingData": "notBreaching",
        },
    ]  # fmt: skip
    for function in FUNCTIONS:
        name = deployed_name(stage, function)
        wanted.append(
            {
                "AlarmName": f"{stage.prefixed}-{function}-errors",
                "AlarmDescription": f"{name} raised or timed out: `chalice logs --stage "
                f"{stage.name} --name {function}` shows why. See docs/DEPLOY.md §10.",
                "Namespace": "AWS/Lambda", "MetricName": "Errors",
                "Dimensions": [{"Name": "FunctionName", "Value": name}],
                "Statistic": "Sum", "Period": ERROR_PERIOD_SECONDS, "EvaluationPeriods": 1,
                "Threshold": 0, "ComparisonOperator": "GreaterThanThreshold",
                "TreatMissingData": "notBreaching",
            }
        )  # fmt: skip
    wanted.extend(account_alarm(stage, account) for account in accounts)
    return [{**alarm, **notify} for alarm in wanted]


def lake_accounts(s3: Any, stage: Stage, changes: Any) -> list[str]:
    """The accounts of the stage's lake, as its register lists them; none, with a note, in a
    lake written before accounts (`spotify-etl migrate` moves it under its account)."""
    try:
        return list(registered(S3Lake(s3, stage.bucket, stage.prefix)))
    except LegacyLakeError as error:
        changes.say(f"note: {error}; then run this again for its account's alarm")
        return []


def account_alarm(stage: Stage, account: str) -> dict[str, Any]:
    """A scheduled run of one account (snapshot or plays poll) failed or ended partial: the
    sum of both functions' RunsIncomplete by Function and Account, an hour at a time."""

    def incomplete(function: str) -> dict[str, Any]:
        dimensions = [
            {"Name": "Function", "Value": deployed_name(stage, function)},
            {"Name": "Account", "Value": account},
        ]
        metric = {"Namespace": NAMESPACE, "MetricName": "RunsIncomplete", "Dimensions": dimensions}
        stat = {"Metric": metric, "Period": 3600, "Stat": "Sum"}
        return {"Id": function, "MetricStat": stat, "ReturnData": False}

    total = {
        "Id": "incomplete",
        "Expression": f"SUM([{', '.join(f'FILL({f}, 0)' for f in SCHEDULED)}])",
        "Label": f"runs of {account} failed or partial",
        "ReturnData": True,
    }
    return {
        "AlarmName": f"{account_alarm_prefix(stage)}{account}-incomplete",
        "AlarmDescription": f"A scheduled run of account {account} failed or ended partial "
        f"(the other accounts' runs go on): `spotify-etl runs --account {account}` or GET "
        f"/runs?account={account} says why. See docs/DEPLOY.md §10.",
        "Metrics": [*(incomplete(function) for function in SCHEDULED), total],
        "EvaluationPeriods": 1, "Threshold": 1,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "TreatMissingData": "notBreaching",
    }  # fmt: skip


def account_alarm_prefix(stage: Stage) -> str:
    return f"{stage.prefixed}-account-"


def plays_alarm_name(stage: Stage) -> str:
    return f"{stage.prefixed}-plays-stalled"


class Alarms:
    """The stage's CloudWatch alarms, each put only where it is missing or differs."""

    def __init__(self, client: Any, changes: Any):
        self._client = client
        self._changes = changes
        self._alarms: dict[str, dict[str, Any]] | None = None  # the stage's, read once

    def plays_hours(self, stage: Stage) -> int | None:
        """The hours the plays alarm allows now (an earlier --plays-alarm-hours), if any."""
        alarm = self._current(stage).get(plays_alarm_name(stage))
        return int(alarm["EvaluationPeriods"] * alarm["Period"] // 3600) if alarm else None

    def ensure(self, stage: Stage, wanted: list[dict[str, Any]]) -> None:
        """Put each alarm that is missing or differs; remove an account's alarm that is no
        longer wanted (its account was forgotten)."""
        current = self._current(stage)
        names = {alarm["AlarmName"] for alarm in wanted}
        for name in sorted(current):
            if name.startswith(account_alarm_prefix(stage)) and name not in names:
                self._changes.apply(
                    f"delete alarm {name} (its account is no longer in the lake)",
                    lambda name=name: self._client.delete_alarms(AlarmNames=[name]),
                )
        for alarm in wanted:
            name = alarm["AlarmName"]
            existing = current.get(name)
            differing = [k for k in alarm if existing is not None and existing.get(k) != alarm[k]]
            if existing is not None and not differing:
                self._changes.unchanged(f"alarm {name}")
                continue
            what = f"create alarm {name}"
            if existing is not None:
                what = f"update alarm {name} ({', '.join(differing)})"
            self._changes.apply(
                what,
                lambda alarm=alarm: self._client.put_metric_alarm(**alarm),
            )

    def _current(self, stage: Stage) -> dict[str, dict[str, Any]]:
        if self._alarms is None:
            pages = self._client.get_paginator("describe_alarms").paginate(
                AlarmNamePrefix=f"{stage.prefixed}-", AlarmTypes=["MetricAlarm"]
            )
            self._alarms = {
                alarm["AlarmName"]: alarm
                for page in pages
                for alarm in page.get("MetricAlarms", [])
            }
        return self._alarms


class DashboardKey:
    """The secret that signs dashboard links: 32 random bytes, made once."""

    def __init__(self, client: Any, changes: Any):
        self._client = client
        self._changes = changes

    def ensure(self, stage: Stage) -> None:
        name = stage.dashboard_key_id
        try:
            self._client.describe_secret(SecretId=name)
        except self._client.exceptions.ResourceNotFoundException:
            self._changes.apply(
                f"create secret {name} (the key that signs dashboard links)",
                lambda: self._client.create_secret(
                    Name=name,
                    Description="spotify-etl: signs expiring dashboard links (HMAC-SHA256)",
                    SecretString=json.dumps({"key": secrets.token_hex(32)}),
                ),
            )
            return
        self._changes.unchanged(f"secret {name}")
