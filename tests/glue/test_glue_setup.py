"""glue/setup.py against moto: what it creates, checked through the Glue, Athena, S3 APIs."""

from __future__ import annotations

import json
import zipfile
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.stub import Stubber
from stand_ins import REGION

from chalicelib.lake import LocalLake
from chalicelib.query.named import load_queries
from chalicelib.schema import TABLES
from glue import setup
from glue.catalog import PARQUET_SERDE
from glue.provision import (
    CRAWLER_SCHEDULE,
    ROLE_PROPAGATION_DELAYS,
    SCAN_CUTOFF_BYTES,
    Changes,
    Crawler,
    Stage,
)
from spotify_etl.cli import main
from tests.history.exports import export_entry

pytestmark = pytest.mark.integration  # the AWS services, in moto

BUCKET = "spotify-etl-stage-lake"
DATABASE = "spotify_etl_stage"
WORKGROUP = "spotify-etl-stage"


@pytest.fixture
def config(tmp_path):
    """A Chalice config whose `stage` stage keeps its lake under a prefix."""
    stage = {
        "environment_variables": {
            "LAKE_URI": f"s3://{BUCKET}/spotify",
            "GLUE_DATABASE": DATABASE,
            "ATHENA_WORKGROUP": WORKGROUP,
            "SPOTIFY_SECRET_ID": "spotify-etl/stage",
        }
    }
    path = tmp_path / "config.json"
    path.write_text(
        json.dumps({"version": "2.0", "app_name": "spotify-etl", "stages": {"stage": stage}})
    )
    return path


@pytest.fixture
def run_setup(aws, config, capsys):
    """Run glue/setup.py's main for the stage; returns its printed lines."""

    def run(*options: str) -> list[str]:
        assert setup.main(["--stage", "stage", "--config", str(config), *options]) == 0
        return capsys.readouterr().out.splitlines()

    return run


def failing_setup(config, capsys, session=None) -> str:
    """Run glue/setup.py's main expecting it to fail; returns its one line on stderr."""
    assert setup.main(["--stage", "stage", "--config", str(config)], session) == 1
    [line] = capsys.readouterr().err.splitlines()
    return line


def is_note(line: str) -> bool:
    """A line that says what setup could not do yet (a function not deployed), no change."""
    return line.startswith("note: ")


def glue():
    return boto3.client("glue", region_name=REGION)


def athena():
    return boto3.client("athena", region_name=REGION)


def test_projection_mode_creates_the_nine_tables_of_the_schema(run_setup):
    run_setup()
    tables = {t["Name"]: t for t in glue().get_tables(DatabaseName=DATABASE)["TableList"]}
    assert set(tables) == set(TABLES)
    for name, table in TABLES.items():
        storage = tables[name]["StorageDescriptor"]
        assert [(c["Name"], c["Type"]) for c in storage["Columns"]] == [
            *((c.name, c.type) for c in table.columns),
            (table.date_column, "string"),
        ]
        assert tables[name]["PartitionKeys"] == [
            {"Name": "account_id", "Type": "string"},
            {"Name": table.partition, "Type": "string"},
        ]
        assert storage["Location"] == f"s3://{BUCKET}/spotify/processed/{name}/"
        assert storage["SerdeInfo"]["SerializationLibrary"] == PARQUET_SERDE


def test_projection_parameters_cover_every_month_since_spotify_launched(run_setup):
    run_setup()
    plays = glue().get_table(DatabaseName=DATABASE, Name="plays")["Table"]["Parameters"]
    assert plays["projection.enabled"] == "true"
    assert plays["projection.account_id.type"] == "injected"  # each query names its account
    assert plays["projection.played_month.type"] == "date"
    assert plays["projection.played_month.range"] == "2008-10,NOW"
    assert plays["projection.played_month.format"] == "yyyy-MM"
    assert plays["projection.played_month.interval.unit"] == "MONTHS"
    assert plays["storage.location.template"] == (
        f"s3://{BUCKET}/spotify/processed/plays/account_id=${{account_id}}/"
        "played_month=${played_month}/"
    )
    with pytest.raises(glue().exceptions.EntityNotFoundException):
        glue().get_crawler(Name=f"{WORKGROUP}-processed")


def test_athena_projects_every_month_of_an_imported_history_from_2009_to_today(
    run_setup, tmp_path, monkeypatch
):
    """A play in a partition the projection does not reach is silently missing from Athena's
    answers while DuckDB counts it."""
    run_setup()
    plays = glue().get_table(DatabaseName=DATABASE, Name="plays")["Table"]["Parameters"]
    start, end = plays["projection.played_month.range"].split(",")
    today = datetime.now(UTC)
    moments = [datetime(year, 6, 1, 12, tzinfo=UTC) for year in range(2009, today.year)]
    moments.append(today - timedelta(minutes=5))
    export = tmp_path / "my_spotify_data.zip"
    with zipfile.ZipFile(export, "w") as archive:
        entries = [
            export_entry(moment.strftime("%Y-%m-%dT%H:%M:%SZ"), f"{index:022d}")
            for index, moment in enumerate(moments)
        ]
        archive.writestr("Spotify Extended Streaming History/Streaming_History_Audio_0.json",
                         json.dumps(entries))
    lake = tmp_path / "lake"
    monkeypatch.setenv("LAKE_URI", str(lake))
    monkeypatch.chdir(tmp_path)

    assert main(["import", str(export), "--account", "listener"]) == 0

    partitions = {
        key.split("played_month=")[1].split("/")[0]
        for key in LocalLake(lake).list(TABLES["plays"].prefix())
    }
    assert partitions == {moment.strftime("%Y-%m") for moment in moments}
    assert end == "NOW" and min(partitions) >= start and max(partitions) <= today.strftime("%Y-%m")


def test_the_workgroup_enforces_results_location_encryption_and_a_scan_cutoff(run_setup):
    run_setup()
    configuration = athena().get_work_group(WorkGroup=WORKGROUP)["WorkGroup"]["Configuration"]
    assert configuration["ResultConfiguration"] == {
        "OutputLocation": f"s3://{BUCKET}/spotify/athena-results/",
        "EncryptionConfiguration": {"EncryptionOption": "SSE_S3"},
    }
    assert configuration["EnforceWorkGroupConfiguration"] is True
    assert configuration["BytesScannedCutoffPerQuery"] == SCAN_CUTOFF_BYTES


def test_the_named_queries_are_the_sql_files(run_setup):
    run_setup()
    client = athena()
    ids = client.list_named_queries(WorkGroup=WORKGROUP)["NamedQueryIds"]
    queries = {
        q["Name"]: q for q in (client.get_named_query(NamedQueryId=i)["NamedQuery"] for i in ids)
    }
    assert set(queries) == set(load_queries())
    for name, query in load_queries().items():
        assert queries[name]["QueryString"] == query.sql
        assert queries[name]["Database"] == DATABASE


def test_the_bucket_is_private_encrypted_and_expires_query_results(run_setup):
    run_setup()
    s3 = boto3.client("s3", region_name=REGION)
    block = s3.get_public_access_block(Bucket=BUCKET)["PublicAccessBlockConfiguration"]
    assert all(block.values()) and len(block) == 4
    rules = s3.get_bucket_encryption(Bucket=BUCKET)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    [rule] = s3.get_bucket_lifecycle_configuration(Bucket=BUCKET)["Rules"]
    assert rule["Filter"]["Prefix"] == "spotify/athena-results/"
    assert rule["Expiration"]["Days"] > 0


@pytest.mark.parametrize("mode", ["projection", "crawler"])
def test_a_second_run_changes_nothing(run_setup, mode):
    run_setup("--catalog", mode)
    again = run_setup("--catalog", mode)
    assert again[-1] == "everything was up to date"
    assert all(line.startswith(("stage ", "unchanged: ")) or is_note(line) for line in again[:-1])


def test_a_dry_run_creates_nothing_and_says_what_it_would_do(run_setup):
    lines = run_setup("--dry-run")
    assert f"would create bucket {BUCKET}" in lines
    assert f"would create table {DATABASE}.plays (projection)" in lines
    assert "would create named query top_tracks" in lines
    assert boto3.client("s3", region_name=REGION).list_buckets()["Buckets"] == []
    assert glue().get_databases()["DatabaseList"] == []


@pytest.mark.parametrize("mode", ["projection", "crawler"])
def test_a_dry_run_lists_exactly_the_changes_the_real_run_then_makes(run_setup, mode):
    dry_run = run_setup("--catalog", mode, "--dry-run")
    real_run = run_setup("--catalog", mode)
    would = [line.removeprefix("would ") for line in dry_run[1:-1] if not is_note(line)]
    assert would == [line for line in real_run[1:-1] if not is_note(line)]
    assert dry_run[-1] == f"would change {len(would)} thing(s)"
    assert real_run[-1] == f"changed {len(would)} thing(s)"


def test_a_dry_run_after_a_setup_would_change_nothing(run_setup):
    run_setup()
    assert run_setup("--dry-run")[-1] == "everything was up to date"


def test_crawler_mode_crawls_processed_incrementally_without_touching_our_columns(run_setup):
    run_setup("--catalog", "crawler")
    crawler = glue().get_crawler(Name=f"{WORKGROUP}-processed")["Crawler"]
    assert [t["Path"] for t in crawler["Targets"]["S3Targets"]] == [
        f"s3://{BUCKET}/spotify/processed/{name}/" for name in TABLES
    ]
    assert crawler["RecrawlPolicy"] == {"RecrawlBehavior": "CRAWL_NEW_FOLDERS_ONLY"}
    assert crawler["SchemaChangePolicy"] == {"UpdateBehavior": "LOG", "DeleteBehavior": "LOG"}
    output = json.loads(crawler["Configuration"])["CrawlerOutput"]
    assert output["Tables"]["AddOrUpdateBehavior"] == "MergeNewColumns"
    assert output["Partitions"]["AddOrUpdateBehavior"] == "InheritFromTable"
    assert crawler["Schedule"]["ScheduleExpression"] == CRAWLER_SCHEDULE
    plays = glue().get_table(DatabaseName=DATABASE, Name="plays")["Table"]
    assert not any(key.startswith("projection.") for key in plays["Parameters"])


def test_switching_modes_moves_projection_and_the_crawler_both_ways(run_setup):
    run_setup("--catalog", "crawler")
    lines = run_setup()
    assert f"delete crawler {WORKGROUP}-processed (partition projection replaces it)" in lines
    plays = glue().get_table(DatabaseName=DATABASE, Name="plays")["Table"]["Parameters"]
    assert plays["projection.enabled"] == "true"


def test_a_table_changed_by_hand_is_put_back(run_setup):
    run_setup()
    table = glue().get_table(DatabaseName=DATABASE, Name="tracks")["Table"]
    storage = {**table["StorageDescriptor"], "Columns": [{"Name": "track_id", "Type": "int"}]}
    glue().update_table(
        DatabaseName=DATABASE,
        TableInput={
            "Name": "tracks",
            "StorageDescriptor": storage,
            "PartitionKeys": table["PartitionKeys"],
            "TableType": table["TableType"],
            "Parameters": table["Parameters"],
        },
    )
    lines = run_setup()
    assert f"update table {DATABASE}.tracks (Columns)" in lines
    columns = glue().get_table(DatabaseName=DATABASE, Name="tracks")["Table"]
    assert len(columns["StorageDescriptor"]["Columns"]) == len(TABLES["tracks"].stored_columns)


def test_a_stage_without_an_s3_lake_is_refused_with_one_line(aws, capsys):
    assert setup.main(["--stage", "local"]) == 1
    [line] = capsys.readouterr().err.splitlines()
    assert line == (
        "error: stage local keeps its lake on this machine, not in S3; this needs a stage "
        "deployed to AWS (dev, prod)"
    )


def test_a_config_that_is_not_json_is_refused_with_one_line(aws, capsys, tmp_path):
    broken = tmp_path / "config.json"
    broken.write_text("{")
    assert setup.main(["--stage", "dev", "--config", str(broken)]) == 1
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(f"error: {broken} is not valid JSON (")


def test_without_credentials_setup_says_in_one_line_how_to_configure_them(
    no_credentials, config, capsys
):
    line = failing_setup(config, capsys)
    assert line.startswith("error: no AWS credentials found")
    assert "aws configure" in line and "AWS_PROFILE" in line


def test_an_unreachable_aws_is_one_line_not_a_traceback(
    aws_credentials, monkeypatch, config, capsys
):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens on port 9
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    line = failing_setup(config, capsys)
    assert line.startswith("error: cannot reach AWS (Could not connect to the endpoint URL")
    assert "check the network and --region" in line


class DeniedGlue(boto3.session.Session):
    """A session whose Glue refuses every call, as for credentials without Glue rights."""

    def client(self, service_name, **kwargs):
        client = super().client(service_name, **kwargs)
        if service_name == "glue":
            stub = Stubber(client)
            stub.add_client_error(
                "get_database",
                "AccessDeniedException",
                "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: "
                "glue:GetDatabase",
            )
            stub.activate()
        return client


def test_a_refused_call_names_the_operation_and_the_rights_it_needs(aws, config, capsys):
    line = failing_setup(config, capsys, DeniedGlue(region_name=REGION))
    assert line.startswith("error: AWS refused GetDatabase: AccessDeniedException: User: ")
    assert line.endswith("the credentials need the rights listed in docs/DEPLOY.md §0")


NOT_ASSUMABLE = "Service is unable to assume provided role. Please verify role's TrustPolicy"


@pytest.fixture
def stubbed_glue(aws):
    """A Glue client answering from a Stubber, which has no crawler yet; IAM stays moto's."""
    client = glue()
    with Stubber(client) as stub:
        stub.add_client_error("get_crawler", "EntityNotFoundException", "no crawler")
        yield client, stub
        stub.assert_no_pending_responses()


def new_crawler(client, config, sleeps: list[float]) -> None:
    iam = boto3.client("iam", region_name=REGION)
    changes = Changes(say=lambda line: None)
    Crawler(client, iam, changes, sleep=sleeps.append).ensure(Stage.from_config(config, "stage"))


def test_a_new_crawler_waits_until_glue_can_assume_its_new_role(stubbed_glue, config):
    client, stub = stubbed_glue
    stub.add_client_error("create_crawler", "InvalidInputException", NOT_ASSUMABLE)
    stub.add_response("create_crawler", {})
    sleeps: list[float] = []
    new_crawler(client, config, sleeps)
    assert sleeps == [ROLE_PROPAGATION_DELAYS[0]]


@pytest.mark.parametrize(
    ("message", "attempts"),
    [(NOT_ASSUMABLE, len(ROLE_PROPAGATION_DELAYS) + 1), ("Schedule is malformed", 1)],
    ids=["role never assumable", "another invalid input"],
)
def test_a_crawler_glue_keeps_refusing_fails_within_about_a_minute(
    stubbed_glue, config, message, attempts
):
    client, stub = stubbed_glue
    for _ in range(attempts):
        stub.add_client_error("create_crawler", "InvalidInputException", message)
    sleeps: list[float] = []
    with pytest.raises(client.exceptions.InvalidInputException, match=message[:20]):
        new_crawler(client, config, sleeps)
    assert len(sleeps) == attempts - 1 and sum(sleeps) <= 60


def test_a_table_of_the_version_before_accounts_gets_its_account_partition(run_setup):
    run_setup()
    table = glue().get_table(DatabaseName=DATABASE, Name="plays")["Table"]
    earlier = {
        key: value
        for key, value in table["Parameters"].items()
        if not key.startswith("projection.account_id")
    }
    earlier["storage.location.template"] = earlier["storage.location.template"].replace(
        "account_id=${account_id}/", ""
    )
    glue().update_table(
        DatabaseName=DATABASE,
        TableInput={
            "Name": "plays",
            "StorageDescriptor": table["StorageDescriptor"],
            "PartitionKeys": [{"Name": "played_month", "Type": "string"}],
            "TableType": table["TableType"],
            "Parameters": earlier,
        },
    )
    lines = run_setup()
    assert f"update table {DATABASE}.plays (PartitionKeys, Parameters)" in lines
    plays = glue().get_table(DatabaseName=DATABASE, Name="plays")["Table"]
    assert [key["Name"] for key in plays["PartitionKeys"]] == ["account_id", "played_month"]
    assert "account_id=${account_id}/" in plays["Parameters"]["storage.location.template"]
