from chalicelib import wiring


def test_stack_creates_every_resource_the_settings_name(aws: dict[str, str]) -> None:
    settings = wiring.settings()
    ddb = wiring.client("dynamodb")
    for table in (settings.licences_table, settings.feed_table, settings.idempotency_table):
        assert ddb.describe_table(TableName=table)["Table"]["TableStatus"] == "ACTIVE"
    ttl = ddb.describe_time_to_live(TableName=settings.idempotency_table)["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}
    attrs = wiring.client("sqs").get_queue_attributes(
        QueueUrl=settings.sync_queue_url, AttributeNames=["All"]
    )["Attributes"]
    assert '"maxReceiveCount": 5' in attrs["RedrivePolicy"]
    assert settings.sync_dlq_url.endswith("-sync-dlq")
    secrets = wiring.client("secretsmanager")
    names = {s["Name"] for s in secrets.list_secrets()["SecretList"]}
    assert names == {f"licence-bridge/test/{n}" for n in ("portal", "feed-cursor-key", "consumers")}
    alarms = wiring.client("cloudwatch").describe_alarms()["MetricAlarms"]
    assert {a["AlarmName"] for a in alarms} == {
        "licence-bridge-test-sync-dlq-not-empty",
        "licence-bridge-test-portal-rejections",
        "licence-bridge-test-5xx",
    }


def test_visibility_timeout_is_at_least_six_times_the_worker_timeout(aws: dict[str, str]) -> None:
    import json

    from tests.conftest import ROOT

    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    worker_timeout = config["lambda_functions"]["sync_worker"]["lambda_timeout"]
    attrs = wiring.client("sqs").get_queue_attributes(
        QueueUrl=wiring.settings().sync_queue_url, AttributeNames=["VisibilityTimeout"]
    )["Attributes"]
    assert int(attrs["VisibilityTimeout"]) >= 6 * worker_timeout
