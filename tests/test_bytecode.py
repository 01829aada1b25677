from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from infra.bytecode import add_bytecode


def test_zip_gains_unchecked_pycs_that_python_uses_from_a_read_only_copy(tmp_path: Path) -> None:
    archive = tmp_path / "deployment.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("pkg/__init__.py", "")
        zf.writestr("pkg/mod.py", "VALUE = 'ون‌کافه'\n")
        zf.writestr("app.py", "from pkg.mod import VALUE\n")
    assert add_bytecode(archive) == 3
    tag = sys.implementation.cache_tag
    with zipfile.ZipFile(archive) as zf:
        names = set(zf.namelist())
        pyc = zf.read(f"pkg/__pycache__/mod.{tag}.pyc")
        zf.extractall(tmp_path / "code")
    assert f"__pycache__/app.{tag}.pyc" in names
    assert int.from_bytes(pyc[4:8], "little") == 0b01  # hash-based, unchecked
    # Touch the source (Lambda does not keep mtimes): an unchecked pyc is still used.
    source = tmp_path / "code" / "pkg" / "mod.py"
    source.write_text("VALUE = 'changed'\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-B", "-c", "import app; print(app.VALUE)"],
        cwd=tmp_path / "code",
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=True,
    )
    assert done.stdout.strip() == "ون‌کافه"
