"""Add compiled bytecode to a Chalice deployment zip: `python -m infra.bytecode ZIP`.

Chalice ships sources only, and Lambda's code directory is read-only, so every cold start
compiles every imported module again (imports run 2-3x slower). We compile each .py in the
zip with this interpreter, which must be the Lambda runtime's Python (3.11), into
`__pycache__/<name>.cpython-311.pyc` in *unchecked-hash* mode: the interpreter then trusts
the pyc without comparing source mtimes, which Lambda's extraction does not preserve.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import marshal
import sys
import zipfile
from pathlib import Path

RUNTIME = (3, 11)


def _pyc(source: bytes, name: str) -> bytes:
    code = compile(source, name, "exec", dont_inherit=True, optimize=0)
    source_hash = importlib.util.source_hash(source)
    flags = 0b01  # hash-based, check_source=0: "unchecked"
    out = io.BytesIO()
    out.write(importlib.util.MAGIC_NUMBER)
    out.write(flags.to_bytes(4, "little"))
    out.write(source_hash)
    marshal.dump(code, out)
    return out.getvalue()


def add_bytecode(zip_path: Path) -> int:
    """Rewrite `zip_path` with a pyc beside every .py; returns how many were added."""
    if sys.version_info[:2] != RUNTIME:
        raise SystemExit(f"compile with Python {RUNTIME[0]}.{RUNTIME[1]}, the Lambda runtime")
    tag = sys.implementation.cache_tag
    added = 0
    temporary = zip_path.with_suffix(".tmp.zip")
    with (
        zipfile.ZipFile(zip_path) as source,
        zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_DEFLATED) as target,
    ):
        names = set(source.namelist())
        for info in source.infolist():
            data = source.read(info)
            target.writestr(info, data)
            if not info.filename.endswith(".py"):
                continue
            folder, _, filename = info.filename.rpartition("/")
            pyc_name = f"{folder + '/' if folder else ''}__pycache__/{filename[:-3]}.{tag}.pyc"
            if pyc_name in names:
                continue
            try:
                pyc = _pyc(data, info.filename)
            except SyntaxError:
                continue  # e.g. py2-only test files some wheels carry; Python skips them too
            pyc_info = zipfile.ZipInfo(pyc_name, date_time=info.date_time)
            pyc_info.external_attr = info.external_attr
            pyc_info.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(pyc_info, pyc)
            added += 1
    temporary.replace(zip_path)
    return added


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.bytecode", description=__doc__)
    parser.add_argument("zip", type=Path)
    args = parser.parse_args(argv)
    print(f"{args.zip}: added {add_bytecode(args.zip)} compiled modules")
    return 0


if __name__ == "__main__":
    sys.exit(main())
