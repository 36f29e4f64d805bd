"""glue/setup.py's operations part against moto: the failure queue and each asynchronous
function's retries and destination, the alarms and their topic, the dashboard links' key;
and two stages in one account and region sharing none of them."""

from __future__ import annotations

import json

import boto3
import pytest
from stand_ins import REGION

from chalicelib import accounts
from chalicelib.lake import S3Lake
from glue import setup
from glue.policies import FUNCTIONS
from spotify_etl.stage import MAX_EVENT_AGE_SECONDS, RETRIES
from tests.aws.test_pipeline_on_s3 import create_function

pytestmark = pytest.mark.integration  # the AWS services, in moto

ACCOUNT = "123456789012"  # moto's


def stage_settings(name: str) -> dict:
    return {
        "environment_variables": {
            "LAKE_URI": f"s3://spotify-etl-{name}-lake",
            "GLUE_DATABASE": f"spotify_etl_{name}",
            "ATHENA_WORKGROUP": f"spotify-etl-{name}",
            "SPOTIFY_SECRET_ID": f"spotify-etl/{name}",
        }
    }


@pytest.fixture
def stages_config(tmp_path):
    path = tmp_path / "config.json"
    stages = {name: stage_settings(name) for name in ("dev", "prod")}
    path.write_text(json.dumps({"version": "2.0", "app_name": "spotify-etl", "stages": stages}))
    return path


@pytest.fixture
def deployed(aws):
    """The asynchronous functions of both stages, as `chalice deploy` would leave them."""
    for stage in ("dev", "prod"):
        for function in RETRIES:
            create_function(f"spotify-etl-{stage}-{function}", function)


@pytest.fixture
def run_stage_setup(aws, stages_config, capsys):
    def run(stage: str = "dev", *options: str, code: int = 0) -> list[str]:
        assert setup.main(["--stage", stage, "--config", str(stages_config), *options]) == code
        captured = capsys.readouterr()
        return (captured.out + captured.err).splitlines()

    return run


def client(service: str):
    return boto3.client(service, region_name=REGION)


def queue_arn(stage: str) -> str:
    return f"arn:aws:sqs:{REGION}:{ACCOUNT}:spotify-etl-{stage}-failures"


def test_every_asynchronous_function_retries_a_bounded_number_of_times_then_queues(
    deployed, run_stage_setup
):
    run_stage_setup()
    sqs = client("sqs")
    url = sqs.get_queue_url(QueueName="spotify-etl-dev-failures")["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["MessageRetentionPeriod"] == str(14 * 24 * 3600)
    assert attributes["QueueArn"] == queue_arn("dev")
    assert set(RETRIES) == set(FUNCTIONS) - {"api_handler"}
    for function, retries in RETRIES.items():
        config = client("lambda").get_function_event_invoke_config(
            FunctionName=f"spotify-etl-dev-{function}"
        )
        assert config["MaximumRetryAttempts"] == retries <= 2
        assert config["MaximumEventAgeInSeconds"] == MAX_EVENT_AGE_SECONDS
        assert config["DestinationConfig"]["OnFailure"]["Destination"] == queue_arn("dev")


def test_a_second_run_changes_nothing_and_a_destination_changed_by_hand_is_put_back(
    deployed, run_stage_setup
):
    """(moto appends each PutFunctionEventInvokeConfig and answers the first, where AWS
    replaces it: the change by hand deletes the configuration first, and the check stops at
    what setup says it puts back.)"""
    run_stage_setup()
    assert run_stage_setup()[-1] == "everything was up to date"
    name = "spotify-etl-dev-on_manifest"
    client("lambda").delete_function_event_invoke_config(FunctionName=name)
    client("lambda").put_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=0)
    lines = run_stage_setup()
    assert lines[-1] == "changed 1 thing(s)"
    assert f"send {name}'s failed events to spotify-etl-dev-failures after 2 retries" in lines


def test_before_the_first_deploy_the_functions_are_named_as_to_do(run_stage_setup):
    lines = run_stage_setup()
    [note] = [line for line in lines if line.startswith("note: ")]
    assert "spotify-etl-dev-on_manifest" in note and "run this again" in note


def test_the_dry_run_lists_the_queue_destinations_alarms_and_key_and_creates_none(
    deployed, run_stage_setup
):
    lines = run_stage_setup("dev", "--dry-run", "--alarm-email", "ops@example.com")
    assert (
        "would create SQS queue spotify-etl-dev-failures "
        "(events that failed every retry, kept 14 days)"
    ) in lines
    assert any(line.startswith("would send spotify-etl-dev-on_import's") for line in lines)
    assert "would create alarm spotify-etl-dev-snapshot-incomplete" in lines
    assert (
        "would subscribe ops@example.com to spotify-etl-dev-alarms "
        "(AWS e-mails a link to confirm it)"
    ) in lines
    assert (
        "would create secret spotify-etl/dev/dashboard-key (the key that signs dashboard links)"
    ) in lines
    assert client("sqs").list_queues().get("QueueUrls", []) == []
    assert client("cloudwatch").describe_alarms()["MetricAlarms"] == []
    assert client("sns").list_topics()["Topics"] == []
    assert client("secretsmanager").list_secrets()["SecretList"] == []


def test_the_alarms_watch_the_snapshot_the_plays_the_queue_and_every_function(
    deployed, run_stage_setup
):
    run_stage_setup("dev", "--alarm-email", "ops@example.com", "--plays-alarm-hours", "8")
    topic = f"arn:aws:sns:{REGION}:{ACCOUNT}:spotify-etl-dev-alarms"
    alarms = {a["AlarmName"]: a for a in client("cloudwatch").describe_alarms()["MetricAlarms"]}
    assert set(alarms) == {
        "spotify-etl-dev-snapshot-incomplete",
        "spotify-etl-dev-plays-stalled",
        "spotify-etl-dev-failures-waiting",
        *(f"spotify-etl-dev-{function}-errors" for function in FUNCTIONS),
    }
    api = alarms["spotify-etl-dev-api_handler-errors"]
    assert api["Dimensions"] == [{"Name": "FunctionName", "Value": "spotify-etl-dev"}]
    assert all(alarm["AlarmActions"] == [topic] for alarm in alarms.values())
    snapshot = alarms["spotify-etl-dev-snapshot-incomplete"]
    assert (snapshot["Namespace"], snapshot["MetricName"]) == ("spotify-etl", "RunsIncomplete")
    assert snapshot["Dimensions"] == [{"Name": "Function", "Value": "spotify-etl-dev-snapshot"}]
    stalled = alarms["spotify-etl-dev-plays-stalled"]
    assert (stalled["MetricName"], stalled["ComparisonOperator"]) == (
        "RunsSucceeded",
        "LessThanThreshold",
    )
    assert stalled["EvaluationPeriods"] * stalled["Period"] == 8 * 3600
    assert stalled["TreatMissingData"] == "breaching"  # no poll at all is a stall too
    waiting = alarms["spotify-etl-dev-failures-waiting"]
    assert waiting["Dimensions"] == [{"Name": "QueueName", "Value": "spotify-etl-dev-failures"}]
    [subscription] = client("sns").list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert (subscription["Protocol"], subscription["Endpoint"]) == ("email", "ops@example.com")
    again = run_stage_setup("dev", "--alarm-email", "OPS@example.com", "--plays-alarm-hours", "8")
    assert again[-1] == "everything was up to date"
    assert run_stage_setup("dev")[-1] == "everything was up to date", "the 8 hours are kept"
    changed = run_stage_setup("dev", "--plays-alarm-hours", "4")
    assert changed[-1] == "changed 1 thing(s)"
    [update] = [line for line in changed if line.startswith("update alarm ")]
    assert update.startswith("update alarm spotify-etl-dev-plays-stalled (")
    assert "EvaluationPeriods" in update


def test_the_dashboard_key_is_made_once_and_never_printed(deployed, run_stage_setup):
    first = run_stage_setup()
    secret = client("secretsmanager").get_secret_value(SecretId="spotify-etl/dev/dashboard-key")
    key = json.loads(secret["SecretString"])["key"]
    assert len(bytes.fromhex(key)) == 32
    assert run_stage_setup()[-1] == "everything was up to date"
    again = client("secretsmanager").get_secret_value(SecretId="spotify-etl/dev/dashboard-key")
    assert json.loads(again["SecretString"])["key"] == key
    assert not any(key in line for line in first)


@pytest.mark.parametrize("hours", ["0", "169", "2.5", "abc"])
def test_a_bad_alarm_period_is_refused_with_the_usage(run_stage_setup, capsys, hours):
    with pytest.raises(SystemExit) as exited:
        run_stage_setup("dev", "--plays-alarm-hours", hours)
    assert exited.value.code == 2
    error = capsys.readouterr().err
    assert f"--plays-alarm-hours: a whole number from 1 to 168, not '{hours}'" in error


def test_a_bad_alarm_email_is_refused_before_anything_is_made(run_stage_setup):
    [line] = run_stage_setup("dev", "--alarm-email", "ops", code=1)
    assert line == "error: --alarm-email 'ops' is not an e-mail address"
    assert client("s3").list_buckets()["Buckets"] == []


def test_two_stages_in_one_account_and_region_share_nothing(deployed, run_stage_setup):
    run_stage_setup("dev")
    run_stage_setup("prod")
    alarms = [a["AlarmName"] for a in client("cloudwatch").describe_alarms()["MetricAlarms"]]
    queues = client("sqs").list_queues()["QueueUrls"]
    topics = [t["TopicArn"] for t in client("sns").list_topics()["Topics"]]
    secrets = [s["Name"] for s in client("secretsmanager").list_secrets()["SecretList"]]
    workgroups = [w["Name"] for w in client("athena").list_work_groups()["WorkGroups"]]
    for names in (alarms, queues, topics, secrets, workgroups):
        ours = [n for n in names if "spotify-etl" in n]
        dev = {n for n in ours if "-dev" in n or "/dev" in n}
        prod = {n for n in ours if "-prod" in n or "/prod" in n}
        assert dev and prod and not dev & prod and dev | prod == set(ours), names
    for stage in ("dev", "prod"):
        for function in RETRIES:
            config = client("lambda").get_function_event_invoke_config(
                FunctionName=f"spotify-etl-{stage}-{function}"
            )
            assert config["DestinationConfig"]["OnFailure"]["Destination"] == queue_arn(stage)


def lake_of(stage: str) -> S3Lake:
    return S3Lake(client("s3"), f"spotify-etl-{stage}-lake")


def test_each_account_of_the_lake_has_an_alarm_on_its_scheduled_runs_failed_or_partial(
    deployed, run_stage_setup
):
    run_stage_setup()  # makes the bucket
    for account in ("listener", "friend"):
        accounts.register(lake_of("dev"), account, {})
    lines = run_stage_setup()
    assert "create alarm spotify-etl-dev-account-friend-incomplete" in lines
    alarms = {a["AlarmName"]: a for a in client("cloudwatch").describe_alarms()["MetricAlarms"]}
    mine = alarms["spotify-etl-dev-account-listener-incomplete"]
    assert "spotify-etl runs --account listener" in mine["AlarmDescription"]
    watched = {q["Id"]: q["MetricStat"]["Metric"] for q in mine["Metrics"] if "MetricStat" in q}
    assert set(watched) == {"snapshot", "plays"}
    for function, metric in watched.items():
        assert (metric["Namespace"], metric["MetricName"]) == ("spotify-etl", "RunsIncomplete")
        assert metric["Dimensions"] == [
            {"Name": "Function", "Value": f"spotify-etl-dev-{function}"},
            {"Name": "Account", "Value": "listener"},
        ]
    [total] = [query for query in mine["Metrics"] if query.get("ReturnData")]
    assert "FILL(snapshot, 0)" in total["Expression"] and "FILL(plays, 0)" in total["Expression"]
    assert (mine["Threshold"], mine["ComparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")
    assert mine["AlarmActions"] == [f"arn:aws:sns:{REGION}:{ACCOUNT}:spotify-etl-dev-alarms"]
    assert run_stage_setup()[-1] == "everything was up to date"


def test_a_forgotten_accounts_alarm_is_removed_and_the_others_kept(deployed, run_stage_setup):
    run_stage_setup()
    for account in ("listener", "friend"):
        accounts.register(lake_of("dev"), account, {})
    run_stage_setup()
    accounts.unregister(lake_of("dev"), "friend")
    dry = run_stage_setup("dev", "--dry-run")
    assert (
        "would delete alarm spotify-etl-dev-account-friend-incomplete "
        "(its account is no longer in the lake)"
    ) in dry
    lines = run_stage_setup()
    assert lines[-1] == "changed 1 thing(s)"
    names = {a["AlarmName"] for a in client("cloudwatch").describe_alarms()["MetricAlarms"]}
    assert "spotify-etl-dev-account-listener-incomplete" in names
    assert not any("friend" in name for name in names)


def test_a_lake_written_before_accounts_gets_its_alarm_once_migrated(deployed, run_stage_setup):
    run_stage_setup()
    lake_of("dev").put("runs/20260101T000000Z-abcdef.json", b"{}")
    lines = run_stage_setup()
    [note] = [line for line in lines if "spotify-etl migrate" in line]
    assert note.startswith("note: ") and "run this again" in note
    assert not any("-account-" in line for line in lines)


def test_the_accounts_of_one_stage_have_no_alarm_in_the_other(deployed, run_stage_setup):
    run_stage_setup("dev")
    run_stage_setup("prod")
    accounts.register(lake_of("dev"), "listener", {})
    run_stage_setup("dev")
    run_stage_setup("prod")
    names = {a["AlarmName"] for a in client("cloudwatch").describe_alarms()["MetricAlarms"]}
    assert {name for name in names if "-account-" in name} == {
        "spotify-etl-dev-account-listener-incomplete"
    }
