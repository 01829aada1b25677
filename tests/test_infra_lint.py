"""infra/ is deployable: cfn-lint clean, and each function's IAM policy matches what it calls.

The merge fragment infra/app-extras.yaml references resources only `chalice package` creates
(the sync worker, its role), so it is linted merged, in tests/test_package.py.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from infra import stage_config
from tests.conftest import ROOT

FRAGMENTS = {"app-extras.yaml"}
TEMPLATES = sorted(p for p in (ROOT / "infra").glob("*.yaml") if p.name not in FRAGMENTS)
DEPLOYED_STAGES = ("dev", "prod")


def cfn_lint(*paths: Path) -> subprocess.CompletedProcess[str]:
    cli = Path(sys.executable).parent / "cfn-lint"
    argv = [str(cli)] if cli.exists() else [sys.executable, "-m", "cfnlint"]
    return subprocess.run(
        [*argv, "--format", "parseable", *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: p.name)
def test_templates_are_cfn_lint_clean(template: Path) -> None:
    result = cfn_lint(template)
    assert result.returncode == 0, result.stdout + result.stderr


# --- least-privilege IAM ------------------------------------------------------------------

# boto3 operation -> the IAM actions it needs.
OPERATIONS = {
    "get_item": {"dynamodb:GetItem"},
    "put_item": {"dynamodb:PutItem"},
    "update_item": {"dynamodb:UpdateItem"},
    "delete_item": {"dynamodb:DeleteItem"},
    "query": {"dynamodb:Query"},
    "scan": {"dynamodb:Scan"},
    "batch_write_item": {"dynamodb:BatchWriteItem"},
    "batch_get_item": {"dynamodb:BatchGetItem"},
    "put_object": {"s3:PutObject"},
    "get_object": {"s3:GetObject"},
    "send_message": {"sqs:SendMessage"},
    "send_message_batch": {"sqs:SendMessage"},
    "delete_message": {"sqs:DeleteMessage"},
    "delete_message_batch": {"sqs:DeleteMessage"},
    "change_message_visibility": {"sqs:ChangeMessageVisibility"},
    "change_message_visibility_batch": {"sqs:ChangeMessageVisibility"},
    "get_queue_attributes": {"sqs:GetQueueAttributes"},
    "receive_message": {"sqs:ReceiveMessage"},
    "get_secret_value": {"secretsmanager:GetSecretValue"},
    "put_metric_data": {"cloudwatch:PutMetricData"},
}
# TransactWriteItems is authorised per item: which item kinds a module writes.
TRANSACT_ITEMS = {
    '"Put"': "dynamodb:PutItem",
    '"Update"': "dynamodb:UpdateItem",
    '"Delete"': "dynamodb:DeleteItem",
    '"ConditionCheck"': "dynamodb:ConditionCheckItem",
}
# Where each function starts: whole modules, or "module:function" (app.py's handlers).
ENTRY_POINTS = {
    "api_handler": ["chalicelib.api.webhooks", "chalicelib.api.reading", "chalicelib.api.feed"],
    "sync_worker": ["chalicelib.sync.worker:handle_batch"],
    "outbox_sweeper": ["chalicelib.outbox:sweep_from_wiring"],
}


def _module_file(name: str) -> Path | None:
    base = ROOT / Path(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


class Module:
    """A chalicelib module: its top-level definitions and what its imported names refer to."""

    def __init__(self, name: str) -> None:
        path = _module_file(name)
        assert path is not None, name
        self.name, self.path = name, path
        self.tree = ast.parse(path.read_text(encoding="utf-8"))
        self.defs: dict[str, ast.AST] = {}
        self.aliases: dict[str, tuple[str, str | None]] = {}  # local -> (module, attribute)
        for node in self.tree.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                self.defs[node.name] = node
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("chalicelib"):
                        self.aliases[alias.asname or alias.name] = (alias.name, None)
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("chalicelib"):
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    target = (full, None) if _module_file(full) else (node.module or "", alias.name)
                    self.aliases[alias.asname or alias.name] = target


_MODULES: dict[str, Module] = {}


def _module(name: str) -> Module:
    if name not in _MODULES:
        _MODULES[name] = Module(name)
    return _MODULES[name]


def needed_actions(entries: list[str]) -> dict[str, set[str]]:
    """IAM actions the code reachable from `entries` calls (a call graph over chalicelib)."""
    needed: dict[str, set[str]] = {}
    todo: list[tuple[str, str | None]] = [
        (e.split(":")[0], e.split(":")[1] if ":" in e else None) for e in entries
    ]
    seen: set[tuple[str, str | None]] = set()
    while todo:
        key = todo.pop()
        if key in seen or key[0].startswith("chalicelib.cli") or not _module_file(key[0]):
            continue
        seen.add(key)
        module = _module(key[0])
        root = module.tree if key[1] is None else module.defs.get(key[1])
        if root is None:
            continue
        where = f"{module.path.name}:{key[1] or '*'}"
        for node in ast.walk(root):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                for action in OPERATIONS.get(node.func.attr, ()):
                    needed.setdefault(action, set()).add(where)
            if isinstance(node, ast.Dict):
                for item_key in node.keys:
                    if isinstance(item_key, ast.Constant):
                        marker = json.dumps(item_key.value)
                        if marker in TRANSACT_ITEMS:
                            needed.setdefault(TRANSACT_ITEMS[marker], set()).add(where)
            if isinstance(node, ast.Name):
                if node.id in module.defs:
                    todo.append((module.name, node.id))
                elif node.id in module.aliases and module.aliases[node.id][1] is not None:
                    todo.append(module.aliases[node.id])  # a name imported from a module
            elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                target = module.aliases.get(node.value.id)
                if target is not None and target[1] is None:
                    todo.append((target[0], node.attr))
    return needed


def allowed_actions(policy: dict[str, object]) -> set[str]:
    actions: set[str] = set()
    for statement in policy["Statement"]:  # type: ignore[attr-defined]
        actions.update(statement["Action"])
    return actions


@pytest.mark.parametrize("function", sorted(ENTRY_POINTS))
def test_each_function_may_do_what_its_code_calls(function: str) -> None:
    needed = needed_actions(ENTRY_POINTS[function])
    policy = stage_config.policy(function, stage_config.resource_arns("dev"))
    missing = {a: sorted(f) for a, f in needed.items() if a not in allowed_actions(policy)}
    assert not missing, f"{function} calls what its policy does not allow: {missing}"


def test_every_deployed_function_has_its_own_policy() -> None:
    functions = stage_config.app_functions()
    assert {"api_handler", "sync_worker"} <= set(functions)
    config = json.loads((ROOT / ".chalice" / "config.json").read_text(encoding="utf-8"))
    for stage in DEPLOYED_STAGES:
        settings = config["stages"][stage]
        assert settings.get("autogen_policy") is False, stage
        assert settings["iam_policy_file"] == stage_config.policy_file(stage, "api_handler")
        arns = stage_config.resource_arns(stage)
        for function in functions:
            if function != "api_handler":
                per_function = settings["lambda_functions"][function]
                assert per_function["iam_policy_file"] == stage_config.policy_file(stage, function)
            path = ROOT / ".chalice" / stage_config.policy_file(stage, function)
            on_disk = json.loads(path.read_text(encoding="utf-8"))
            # Written offline (wildcard region/account) or by stage_config with exact ARNs:
            # either way the same actions on the same named resources.
            expected = stage_config.policy(function, arns)
            assert [s["Action"] for s in on_disk["Statement"]] == [
                s["Action"] for s in expected["Statement"]
            ], f"{path.name} is stale: run python -m infra.stage_config {stage} --offline"


def test_policies_never_grant_wildcard_actions_or_resources() -> None:
    for path in sorted((ROOT / ".chalice").glob("policy-*.json")):
        for statement in json.loads(path.read_text(encoding="utf-8"))["Statement"]:
            assert statement["Effect"] == "Allow"
            for action in statement["Action"]:
                assert "*" not in action, (path.name, action)
            for resource in statement["Resource"]:
                assert resource != "*", (path.name, statement)
                # Names are the stack's own: never a whole service's resources.
                assert "licence-bridge" in resource, (path.name, resource)
