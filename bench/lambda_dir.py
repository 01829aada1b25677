"""A Lambda-like code directory: app.py, chalicelib/ and the runtime requirements, nothing else.

Built once into build/bench-lambda/ (pip install --target, without bytecode, as Chalice
packages it), then copied into two variants: `source` (what Chalice ships: no .pyc, and
read-only, so Python cannot cache any) and `bytecode` (the same plus the unchecked-hash
.pyc files `make package` adds via infra.bytecode).
"""

from __future__ import annotations

import compileall
import hashlib
import py_compile
import shutil
import stat
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build" / "bench-lambda"


def _requirements_key() -> str:
    text = (ROOT / "requirements.txt").read_text(encoding="utf-8")
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _dependencies() -> Path:
    target = BUILD / f"deps-{_requirements_key()}"
    if not target.exists():
        temporary = target.with_suffix(".tmp")
        shutil.rmtree(temporary, ignore_errors=True)
        chalice_pin = next(
            line.strip()
            for line in (ROOT / "requirements-dev.txt").read_text().splitlines()
            if line.startswith("chalice==")
        )
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--no-compile",
                "--target",
                str(temporary),
                "-r",
                str(ROOT / "requirements.txt"),
                chalice_pin,
            ],
            check=True,
        )
        temporary.rename(target)
    return target


def _writable(path: Path) -> None:
    for item in [path, *path.rglob("*")]:
        item.chmod(item.stat().st_mode | stat.S_IWUSR)


def build() -> dict[str, Path]:
    """The two variants' directories (rebuilt from the current sources every run)."""
    deps = _dependencies()
    variants = {}
    for name in ("source", "bytecode"):
        code = BUILD / name
        if code.exists():
            _writable(code)
            shutil.rmtree(code)
        shutil.copytree(deps, code, ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copy2(ROOT / "app.py", code / "app.py")
        shutil.copytree(
            ROOT / "chalicelib", code / "chalicelib", ignore=shutil.ignore_patterns("__pycache__")
        )
        if name == "bytecode":
            compileall.compile_dir(
                code,
                quiet=1,
                workers=1,
                invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
            )
        for item in [code, *code.rglob("*")]:  # Lambda's code directory is read-only
            item.chmod(item.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
        variants[name] = code
    return variants
