"""`chalice package` produces a deployable SAM template and zip, without network or AWS.

The project is copied into a temporary directory with an EMPTY requirements.txt, so Chalice
has nothing to download; the zip's own code is what we check: every schema file ships, the
sync worker is a function of its own with the SQS event source mapping (merged from
infra/app-extras.yaml) reporting batch item failures, and each function gets its own role
with the policy written for it under .chalice/.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT

STAGE = "dev"


def _chalice() -> list[str]:
    script = Path(sys.executable).parent / "chalice"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from chalice.cli import main; sys.exit(main())"]


@pytest.fixture(scope="module")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = tmp_path_factory.mktemp("project")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "deployments", "venv")
    shutil.copy2(ROOT / "app.py", project / "app.py")
    shutil.copytree(ROOT / "chalicelib", project / "chalicelib", ignore=ignore)
    shutil.copytree(ROOT / ".chalice", project / ".chalice", ignore=ignore)
    (project / "infra").mkdir()
    shutil.copy2(ROOT / "infra" / "app-extras.yaml", project / "infra" / "app-extras.yaml")
    (project / "requirements.txt").write_text("", encoding="utf-8")
    out = project / "build" / "package"
    env = {
        "PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin",
        "HOME": str(project),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    result = subprocess.run(
        [
            *_chalice(),
            "package",
            "--stage",
            STAGE,
            "--merge-template",
            "infra/app-extras.yaml",
            str(out),
        ],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def _template(out: Path) -> dict[str, Any]:
    for name in ("sam.json", "sam.yaml"):
        if (out / name).exists():
            text = (out / name).read_text(encoding="utf-8")
            if name.endswith(".json"):
                loaded: dict[str, Any] = json.loads(text)
                return loaded
            import yaml

            from infra.provision import _CfnLoader

            return yaml.load(text, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass
    raise AssertionError(f"no SAM template in {sorted(p.name for p in out.iterdir())}")


def _functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: resource
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }


def test_zip_carries_every_schema_file(packaged: Path) -> None:
    with zipfile.ZipFile(packaged / "deployment.zip") as archive:
        names = set(archive.namelist())
    schemas = ROOT / "chalicelib" / "schemas"
    expected = {
        p.relative_to(ROOT).as_posix()
        for p in schemas.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert expected, "no schema files found"
    missing = sorted(expected - names)
    assert not missing, f"schema files missing from deployment.zip: {missing}"
    assert "app.py" in names


def test_sync_worker_has_an_sqs_mapping_reporting_batch_item_failures(packaged: Path) -> None:
    template = _template(packaged)
    functions = _functions(template)
    workers = [n for n, r in functions.items() if r["Properties"]["Handler"] == "app.sync_worker"]
    assert len(workers) == 1, sorted(functions)
    worker = workers[0]
    assert functions[worker]["Properties"]["Timeout"] == 60
    mappings = [
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Lambda::EventSourceMapping"
    ]
    assert mappings, "no event source mapping in the merged template"
    ours = [m for m in mappings if m["FunctionName"] in ({"Ref": worker}, worker)]
    assert len(ours) == 1, mappings
    assert "ReportBatchItemFailures" in ours[0]["FunctionResponseTypes"]
    assert ours[0].get("BatchSize", 10) <= 10


def _role_policies(template: dict[str, Any], function: dict[str, Any]) -> list[dict[str, Any]]:
    role = function["Properties"].get("Role")
    assert isinstance(role, dict), f"function without its own role: {function}"
    logical = role["Fn::GetAtt"][0] if "Fn::GetAtt" in role else role.get("Ref")
    resource = template["Resources"][logical]
    documents = [p["PolicyDocument"] for p in resource["Properties"].get("Policies", [])]
    # Policies attached from outside the role (the merge template may add some).
    for other in template["Resources"].values():
        if other["Type"] == "AWS::IAM::Policy":
            roles = other["Properties"].get("Roles", [])
            if {"Ref": logical} in roles or logical in roles:
                documents.append(other["Properties"]["PolicyDocument"])
    return documents


def test_each_function_runs_with_its_own_least_privilege_policy(packaged: Path) -> None:
    template = _template(packaged)
    functions = _functions(template)
    roles = set()
    for name, function in functions.items():
        handler = function["Properties"]["Handler"]
        key = "api_handler" if handler == "app.app" else handler.removeprefix("app.")
        documents = _role_policies(template, function)
        wanted = json.loads(
            (ROOT / ".chalice" / f"policy-{STAGE}-{key}.json").read_text(encoding="utf-8")
        )
        assert wanted in documents, f"{name} does not carry policy-{STAGE}-{key}.json"
        for document in documents:
            for statement in document["Statement"]:
                actions = statement["Action"]
                actions = [actions] if isinstance(actions, str) else actions
                assert all("*" not in a for a in actions), (name, statement)
        roles.add(json.dumps(function["Properties"]["Role"], sort_keys=True))
    assert len(roles) == len(functions), "functions share a role"


def test_merged_template_is_cfn_lint_clean(packaged: Path) -> None:
    from tests.test_infra_lint import cfn_lint

    template = next(p for p in (packaged / "sam.json", packaged / "sam.yaml") if p.exists())
    result = cfn_lint(template)
    assert result.returncode == 0, result.stdout + result.stderr
