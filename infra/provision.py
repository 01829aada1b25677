"""Create infra/stack.yaml in an AWS endpoint (moto in tests and the local stack).

The template is the one definition of our resources. moto's CloudFormation creates the
tables, bucket and queues; for the few resource types it does not implement (Secrets
Manager secrets, CloudWatch alarms) and the property it ignores (DynamoDB TTL), this module
creates the same resources from the same template, so no second list is kept by hand.
"""

from __future__ import annotations

import json
import secrets
import warnings
from pathlib import Path
from typing import Any

import yaml

TEMPLATE = Path(__file__).with_name("stack.yaml")


class _CfnLoader(yaml.SafeLoader):
    """YAML loader that turns CloudFormation short tags into their long form."""


def _tag(loader: yaml.Loader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


_CfnLoader.add_multi_constructor("!", _tag)


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass


def _physical_ids(cfn: Any, stack: str) -> dict[str, str]:
    summaries = cfn.list_stack_resources(StackName=stack)["StackResourceSummaries"]
    return {r["LogicalResourceId"]: r.get("PhysicalResourceId", "") for r in summaries}


class _Resolver:
    def __init__(self, params: dict[str, str], physical: dict[str, str], account: str) -> None:
        self.params, self.physical, self.account = params, physical, account

    def __call__(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self(v) for v in value]
        if not isinstance(value, dict):
            return value
        if "Ref" in value:
            name = value["Ref"]
            return self.params.get(name) or self.physical[name]
        if "Fn::Sub" in value:
            text = value["Fn::Sub"]
            names = {**self.params, "AWS::AccountId": self.account}
            for key, val in names.items():
                text = text.replace("${" + key + "}", str(val))
            return text
        if "Fn::GetAtt" in value:
            logical, attribute = value["Fn::GetAtt"]
            physical = self.physical[logical]
            if attribute == "QueueName":
                return physical.rsplit("/", 1)[-1]
            raise ValueError(f"unsupported GetAtt {logical}.{attribute}")
        return {k: self(v) for k, v in value.items()}


# What moto's CloudFormation skips or ignores, which this module creates from the template.
_CREATED_HERE = {"AWS::SecretsManager::Secret", "AWS::CloudWatch::Alarm", "AWS::DynamoDB::Table"}


def provision(session: Any, stage: str, stack_name: str | None = None) -> dict[str, str]:
    """Create the stack for `stage` and return its outputs."""
    stack = stack_name or f"licence-bridge-{stage}"
    template = load_template()
    cfn = session.client("cloudformation")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # moto warns once per resource type it skips
        cfn.create_stack(
            StackName=stack,
            TemplateBody=TEMPLATE.read_text(encoding="utf-8"),
            Parameters=[{"ParameterKey": "Stage", "ParameterValue": stage}],
        )
    described = cfn.describe_stacks(StackName=stack)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
    params = {k: str(v.get("Default", "")) for k, v in template.get("Parameters", {}).items()}
    params["Stage"] = stage
    account = session.client("sts").get_caller_identity()["Account"]
    resolve = _Resolver(params, _physical_ids(cfn, stack), account)
    for logical, resource in template["Resources"].items():
        kind = resource["Type"]
        if kind not in _CREATED_HERE:
            continue
        props = resolve(resource.get("Properties", {}))
        if kind == "AWS::SecretsManager::Secret":
            _create_secret(session.client("secretsmanager"), props)
        elif kind == "AWS::CloudWatch::Alarm":
            session.client("cloudwatch").put_metric_alarm(**_alarm_args(props))
        elif kind == "AWS::DynamoDB::Table" and "TimeToLiveSpecification" in props:
            ttl = props["TimeToLiveSpecification"]
            session.client("dynamodb").update_time_to_live(
                TableName=resolve.physical[logical],
                TimeToLiveSpecification={
                    "AttributeName": ttl["AttributeName"],
                    "Enabled": ttl["Enabled"],
                },
            )
    return outputs


def _create_secret(client: Any, props: dict[str, Any]) -> None:
    if "SecretString" in props:
        value = props["SecretString"]
    else:
        spec = props.get("GenerateSecretString", {})
        generated = secrets.token_urlsafe(spec.get("PasswordLength", 32))[
            : spec.get("PasswordLength", 32)
        ]
        if "SecretStringTemplate" in spec:
            body = json.loads(spec["SecretStringTemplate"])
            body[spec["GenerateStringKey"]] = generated
            value = json.dumps(body)
        else:
            value = generated
    client.create_secret(
        Name=props["Name"], Description=props.get("Description", ""), SecretString=value
    )


def _alarm_args(props: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "AlarmName",
        "AlarmDescription",
        "Namespace",
        "MetricName",
        "Dimensions",
        "Statistic",
        "Period",
        "EvaluationPeriods",
        "Threshold",
        "ComparisonOperator",
        "TreatMissingData",
    )
    args = {k: props[k] for k in keys if k in props}
    args["Period"], args["EvaluationPeriods"] = int(args["Period"]), int(args["EvaluationPeriods"])
    args["Threshold"] = float(args["Threshold"])
    return args


def stage_environment(outputs: dict[str, str], stage: str) -> dict[str, str]:
    """The environment variables chalicelib.config reads, from the stack's outputs."""
    return {
        "STAGE": stage,
        "LICENCES_TABLE": outputs["LicencesTable"],
        "FEED_TABLE": outputs["FeedTable"],
        "IDEMPOTENCY_TABLE": outputs["IdempotencyTable"],
        "ARCHIVE_BUCKET": outputs["ArchiveBucket"],
        "SYNC_QUEUE_URL": outputs["SyncQueueUrl"],
        "SYNC_DLQ_URL": outputs["SyncDeadLetterQueueUrl"],
        "SECRETS_PREFIX": outputs["SecretsPrefix"],
    }
