"""The local tooling's user-facing details: data-source line, progress bars, help, CLI lines."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from infra.local import dataset as ds
from infra.local import run, up

ROOT = Path(__file__).resolve().parents[2]


def test_the_data_line_names_the_shared_data_or_the_fallback(tmp_path: Path) -> None:
    nothing = ds.load_reference(tmp_path / "missing")
    assert nothing.describe().startswith("data: FALLBACK Faker fa_IR (")
    assert nothing.describe().endswith("missing not found)")

    partial = tmp_path / "partial"
    (partial / "names").mkdir(parents=True)
    (partial / "names" / "family_names_fa.txt").write_text("رضایی\nاحمدی\n", encoding="utf-8")
    line = ds.load_reference(partial).describe()
    assert line.startswith("data: ") and "(family names)" in line
    assert "FALLBACK for given names (Faker fa_IR)" in line

    if (ds.DATA / "tehran" / "tehran_neighborhoods.geojson").exists():
        full = ds.build_dataset(30, seed=1).data
        assert full.startswith("data: ") and "FALLBACK" not in full
        assert "tehran neighbourhoods" in full and "postal ranges" in full


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bars_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.cli import feed

    for stream, drawn in ((io.StringIO(), False), (_Terminal(), True)):
        monkeypatch.setattr(sys, "stderr", stream)
        bar = run._bar(10, "webhooks", enabled=True)
        assert (bar is not None) is drawn
        if bar is not None:
            bar.update(3)
            bar.close()
        update = feed._progress_bar(enabled=True, initial=0)
        update(5, 5)
        update(0, None, close=True)
        assert ("\r" in stream.getvalue()) is drawn, stream.getvalue()
    assert run._bar(10, "webhooks", enabled=False) is None


def test_cli_lines_use_this_interpreter(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    venv_python = tmp_path / ".venv" / "bin" / "python"
    monkeypatch.setattr(sys, "executable", str(venv_python))
    monkeypatch.chdir(tmp_path)
    assert up.cli_python() == ".venv/bin/python"
    monkeypatch.chdir(ROOT)
    assert up.cli_python() == str(venv_python)  # outside the working directory: absolute


@pytest.mark.parametrize("module", [up, run])
def test_help_keeps_the_docstring_layout_and_says_ports_are_free(
    module: object, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        module.main(["--help"])  # type: ignore[attr-defined]
    out = capsys.readouterr().out
    doc = module.__doc__ or ""
    indented = [line for line in doc.splitlines() if line.startswith(("- ", "    python"))]
    assert indented and all(line in out.splitlines() for line in indented)
    assert "8000" not in out
    assert "--api-port PORT" in out and "a free port" in out
