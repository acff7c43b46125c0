from pathlib import Path

import pytest

from checker import api
from checker.diagnostics import SpecError
from checker.report.dot import state_graph_dot

ROOT = Path(__file__).resolve().parents[2]


def test_dot_highlights_the_counterexample(tmp_path):
    spec = str(ROOT / "tests" / "specs" / "violation" / "counter.elect")
    res = api.check(spec, out_dir=str(tmp_path))
    m = api.load_model(spec)
    text = state_graph_dot(m, res.search.states)
    assert text.startswith("digraph states {")
    assert text.count("color=red") == 4 + 3        # 4 states and 3 steps of the shortest run
    assert "inc()" in text


def test_dot_refuses_big_graphs():
    m = api.load_model(str(ROOT / "spec" / "raft.elect"), "yardstick", ["N=4"])
    with pytest.raises(SpecError) as e:
        state_graph_dot(m)
    assert e.value.code == "E415"
