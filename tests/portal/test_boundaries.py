"""What must not import what: zeep stays out of the webhook path, the simulator out of Lambda."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_webhook_route_does_not_import_zeep_or_lxml() -> None:
    code = (
        "import sys, chalicelib.api.webhooks, chalicelib.portal.mapping;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('zeep', 'lxml', 'tenacity')"
        " or m == 'chalicelib.portal.client'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_chalicelib_never_imports_the_simulator() -> None:
    for path in (ROOT / "chalicelib").rglob("*.py"):
        assert "portal_simulator" not in path.read_text(encoding="utf-8"), path
