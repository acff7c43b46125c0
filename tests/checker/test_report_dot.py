import subprocess
import sys
from pathlib import Path

from checker import api
from checker.report.dot import LIMIT, state_graph_dot

ROOT = Path(__file__).resolve().parents[2]
COUNTER = str(ROOT / "tests" / "specs" / "violation" / "counter.elect")


def test_dot_highlights_the_counterexample(tmp_path):
    res = api.check(COUNTER, out_dir=str(tmp_path))
    m = api.load_model(COUNTER)
    text, note = state_graph_dot(m, res.search.states)
    assert text.startswith("digraph states {")
    assert text.count("color=red") == 4 + 3        # 4 states and 3 steps of the shortest run
    assert "inc()" in text
    assert note is None and "dashed" not in text


def test_dot_cuts_big_graphs_at_the_limit():
    m = api.load_model(str(ROOT / "spec" / "raft.elect"), "yardstick", ["N=4"])
    text, note = state_graph_dot(m)
    assert text.count("label=") - text.count(" -> ") - 1 == LIMIT     # nodes (the caption is one more label)
    assert note == f"the state graph is cut at {LIMIT:,} states (the most drawn): {LIMIT:,} states drawn; " \
                   "a dashed state has steps not drawn"
    assert "style=dashed" in text and text.rstrip().endswith("}")


def test_dot_keeps_the_counterexample_whole_under_max_states(tmp_path):
    res = api.check(COUNTER, out_dir=str(tmp_path))
    m = api.load_model(COUNTER)
    text, note = state_graph_dot(m, res.search.states, max_states=2)
    assert text.count("color=red") == 4 + 3
    assert "--max-states" in note


def test_dot_follows_max_depth():
    m = api.load_model(COUNTER)
    text, note = state_graph_dot(m, max_depth=1)
    assert note is not None and "at depth 1 (--max-depth)" in note
    full, none = state_graph_dot(m)
    assert none is None and full.count(" -> ") > text.count(" -> ")


def test_cli_dot_cut_keeps_the_verdicts_exit_code(tmp_path):
    dot = tmp_path / "g.dot"
    r = subprocess.run([sys.executable, "-m", "checker.cli", "check", str(ROOT / "spec" / "raft.elect"),
                        "--model", "yardstick", "-D", "N=3", "-D", "MAX_TERM=1", "--max-states", "50",
                        "--dot", str(dot), "--out", str(tmp_path)], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 14, r.stderr        # stopped at the limit, as without --dot
    assert "note: the state graph is cut at 50 states (--max-states): 50 states drawn" in r.stderr
    assert dot.read_text().count("style=dashed") >= 1
