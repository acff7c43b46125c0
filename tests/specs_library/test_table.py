"""spec/README.md is what `elect table spec/` generates.

The default suite checks every row of a model that is not `large` (reusing the runs the
pinned-count tests made), the header, the list of specs, and that the table has one
row per model in table order; the rows of the large models are left to the slow test,
which runs `elect table spec/ --check` itself: all models, the whole file, unchanged.
"""
from __future__ import annotations

import io
from argparse import Namespace
from contextlib import redirect_stderr, redirect_stdout

import pytest

from checker import table
from specs_pinned import SLOW_MODELS

README = "README.md"


def table_rows(text: str) -> list[str]:
    lines = text.splitlines()
    start = lines.index("## Models")
    return [ln for ln in lines[start:] if ln.startswith("| `")]


def test_fast_rows_match_the_readme(checked, spec_dir):
    text = (spec_dir / README).read_text()
    rows = table_rows(text)
    pairs = table.spec_models(spec_dir)
    assert len(rows) == len(pairs), "one row per model"
    for line, (path, model) in zip(rows, pairs):
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert cells[:2] == [f"`{path.name}`", f"`{model}`"], "rows in table order"
        if (path.name, model) in SLOW_MODELS:
            continue
        want = table.markdown([table.row(path, model, checked(path.name, model))]).splitlines()[-1]
        assert line == want


def test_readme_text_around_the_table(spec_dir):
    text = (spec_dir / README).read_text()
    empty = table.render([], spec_dir)
    head = empty[:empty.index("## Models")]
    assert text.startswith(head)


def test_check_reports_a_stale_file(tmp_path, monkeypatch):
    (tmp_path / "tiny.elect").write_text(
        "spec Tiny\n# A spec of one counter: test input for elect table (2024).\n"
        "var x: int = 0\naction step requires x < 2:\n    x += 1\n"
        "invariant Small: x <= 2\nreachable Two: x == 2\nmodel default:\n    pass\n")
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        assert table.cmd_table(Namespace(dir=str(tmp_path), check=True)) == 1
        assert table.cmd_table(Namespace(dir=str(tmp_path), check=False)) == 0
        assert table.cmd_table(Namespace(dir=str(tmp_path), check=True)) == 0
    text = (tmp_path / README).read_text()
    assert "| `tiny.elect` | `default` | N/A" not in text
    assert table_rows(text) == ["| `tiny.elect` | `default` | network unordered; faults none | holds (0) |  "
                                "| 3 | 2 | 2 |"]
    assert "seconds" in out.getvalue()          # the timings go to stdout only
    assert "seconds" not in table.markdown(table.collect(tmp_path, workers=1))
    with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
        assert table.cmd_table(Namespace(dir=str(tmp_path / "nowhere"), check=False)) == 2


def test_a_model_with_an_error_is_reported_and_nothing_written(tmp_path):
    (tmp_path / "bad.elect").write_text(
        "spec Bad\n# A spec whose second model is empty: test input for elect table (2024).\n"
        "const N: int = 2\ntype P = 1..N\nvar x: int = 0\naction step requires x < 1:\n    x += 1\n"
        "model default:\n    pass\nmodel empty:\n    N = 0\n")
    err = io.StringIO()
    with redirect_stdout(io.StringIO()), redirect_stderr(err):
        assert table.cmd_table(Namespace(dir=str(tmp_path), check=False)) == 1
    assert "model 'empty'" in err.getvalue() and "E411" in err.getvalue()
    assert not (tmp_path / README).exists()


def test_a_spec_without_models_gets_a_row_and_one_that_fails_stops_the_table(tmp_path):
    """No model block: one row for the spec's defaults, as `elect check` checks it; a spec
    that `check` refuses (nothing to explore) stops the table (both were left out, exit 0)."""
    (tmp_path / "plain.elect").write_text("spec Plain\n# A counter with no model block (test input).\n"
                                          "var x: 0..2 = 0\naction step requires x < 2:\n    x += 1\n")
    with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
        assert table.cmd_table(Namespace(dir=str(tmp_path), check=False)) == 0
    rows = table_rows((tmp_path / README).read_text())
    assert len(rows) == 1 and "`plain.elect` | `(spec defaults)`" in rows[0] and "holds (0)" in rows[0]
    (tmp_path / README).unlink()
    (tmp_path / "empty.elect").write_text("spec Empty\n")
    err = io.StringIO()
    with redirect_stdout(io.StringIO()), redirect_stderr(err):
        assert table.cmd_table(Namespace(dir=str(tmp_path), check=False)) == 1
    assert "E417" in err.getvalue() and not (tmp_path / README).exists()


@pytest.mark.slow
def test_elect_table_leaves_the_readme_unchanged(spec_dir):
    err = io.StringIO()
    with redirect_stdout(io.StringIO()), redirect_stderr(err):
        code = table.cmd_table(Namespace(dir=str(spec_dir), check=True))
    assert code == 0, err.getvalue()
