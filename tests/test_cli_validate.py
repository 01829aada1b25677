from __future__ import annotations

import io
import subprocess
import sys
from contextlib import redirect_stdout
from pathlib import Path

from chalicelib.cli.__main__ import main
from tests.conftest import ROOT
from tests.examples_index import expected_pointers, invalid_examples, valid_examples


def _run(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(["validate", *args])
    return code, out.getvalue()


def test_valid_files_exit_zero_and_name_the_licence() -> None:
    files = [str(p) for p in valid_examples()[:3]]
    code, output = _run(*files)
    assert code == 0
    assert output.count("✓") == 3


def test_invalid_file_exits_one_and_prints_pointers_in_both_languages() -> None:
    path = invalid_examples()[0]
    code, output = _run(str(path))
    assert code == 1
    assert output.startswith(f"✗ {path}")
    for pointer in expected_pointers(path):
        assert f"    {pointer}  [" in output
    assert any("\u0600" <= ch <= "\u06ff" for ch in output)  # the Persian message is printed


def test_unparseable_file_is_reported_not_raised(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_bytes(b'{"event_id": "x", "event_id": "y"}')
    code, output = _run(str(broken))
    assert code == 1
    assert "duplicate key 'event_id'" in output


def test_module_entry_point_runs_as_a_subprocess() -> None:
    path = valid_examples()[0]
    done = subprocess.run(
        [sys.executable, "-m", "chalicelib.cli", "validate", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("✓")
