"""Every spec under tests/specs/ states its expected outcome in its first line:

    # expect: E302 at 7:5            a diagnostic with that code (and position, when given)
    # expect: E302                   a diagnostic with that code
    # expect: holds distinct=137     `elect check` holds with that many distinct states
    # expect: violated Prop depth=6  a violation of Prop with a counterexample of that length

Rendered diagnostics are pinned by golden files in tests/golden/errors/ (rewrite them
with ELECT_UPDATE_GOLDEN=1).
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from checker import api
from checker.diagnostics import SpecError

ROOT = Path(__file__).resolve().parents[2]
SPECS = sorted((ROOT / "tests" / "specs").glob("*/*.elect"))
GOLDEN = ROOT / "tests" / "golden" / "errors"
UPDATE = os.environ.get("ELECT_UPDATE_GOLDEN") == "1"


def expectation(path: Path) -> str:
    first = path.read_text().splitlines()[0]
    m = re.match(r"#\s*expect:\s*(.+)", first)
    assert m, f"{path} does not start with '# expect: ...'"
    return m.group(1).strip()


def test_corpus_is_big_enough():
    broken = [p for p in SPECS if expectation(p).startswith("E")]
    assert len(broken) >= 40


@pytest.mark.parametrize("path", SPECS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_spec(path: Path, tmp_path, monkeypatch):
    exp = expectation(path)
    rel = path.relative_to(ROOT)
    monkeypatch.chdir(ROOT)
    if exp.startswith("E"):
        m = re.match(r"(E\d{3})(?:\s+at\s+(\d+):(\d+))?", exp)
        code, line, col = m.group(1), m.group(2), m.group(3)
        with pytest.raises(SpecError) as ei:
            if code.startswith("E5"):
                res = api.check(str(rel), out_dir=str(tmp_path), max_states=100_000)
                raise (SpecError(res.error.diagnostic(), path.read_text()) if res.error
                       else AssertionError(res.to_json()))
            api.load_model(str(rel))
        err = ei.value
        assert err.code == code, err.render()
        assert err.span is not None, "every spec diagnostic has a span"
        if line:
            assert (err.span.line, err.span.col) == (int(line), int(col)), err.render()
        text = err.render() + "\n"
        golden = GOLDEN / f"{path.parent.name}__{path.stem}.txt"
        if UPDATE:
            golden.parent.mkdir(parents=True, exist_ok=True)
            golden.write_text(text)
        # a missing golden fails (it used to be written and pass: a clean clone pinned nothing)
        assert golden.exists(), f"no golden file {golden.name}: write it with ELECT_UPDATE_GOLDEN=1 and review it"
        assert text == golden.read_text()
        assert "Traceback" not in text
        return
    words = exp.split()
    res = api.check(str(rel), out_dir=str(tmp_path))
    assert res.verdict == words[0], (exp, res.to_json())
    kv = dict(w.split("=", 1) for w in words[1:] if "=" in w)
    names = [w for w in words[1:] if "=" not in w]
    if names:
        assert res.property == names[0]
    if "distinct" in kv:
        assert res.search.stats.distinct == int(kv["distinct"])
    if "depth" in kv:
        assert res.search.stats.depth == int(kv["depth"])
