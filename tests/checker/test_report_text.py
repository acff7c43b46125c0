"""The terminal table: golden renderings of the fixture counterexamples, colour on demand only."""
from __future__ import annotations

import difflib
import io
import os
from pathlib import Path

import pytest

from checker.report.text import render_text, wants_color
from checker.trace import NONE, Step, Trace, read_itf

FIXTURES = Path(__file__).parent / "fixtures"
GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "report"
CASES = ["raft_split_brain", "bully_partition"]


def assert_golden(name: str, text: str) -> None:
    """Compare with tests/golden/report/NAME; ELECT_UPDATE_GOLDEN=1 rewrites the file instead."""
    path = GOLDEN / name
    if os.environ.get("ELECT_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return
    if not path.exists():
        pytest.fail(f"no golden file {path}; write it with ELECT_UPDATE_GOLDEN=1")
    want = path.read_text()
    if text != want:
        diff = "".join(difflib.unified_diff(want.splitlines(True), text.splitlines(True), str(path), "rendered"))
        pytest.fail(f"rendering differs from {path} (rewrite with ELECT_UPDATE_GOLDEN=1 if intended):\n{diff}")


@pytest.mark.parametrize("case", CASES)
def test_plain_text_matches_golden(case):
    assert_golden(f"{case}.txt", render_text(read_itf(FIXTURES / f"{case}.itf.json")))


@pytest.mark.parametrize("case", CASES)
def test_plain_text_has_no_escape_codes_and_fits_the_width(case):
    trace = read_itf(FIXTURES / f"{case}.itf.json")
    for width in (60, 100, 140):
        out = render_text(trace, width=width)
        assert "\x1b" not in out
        assert max(len(line) for line in out.splitlines()) <= width


def test_colour_only_when_asked():
    trace = read_itf(FIXTURES / "raft_split_brain.itf.json")
    coloured = render_text(trace, color=True)
    assert "\x1b[" in coloured
    assert "\x1b" not in render_text(trace, color=False)


def test_marks_faults_violation_and_false_part():
    out = render_text(read_itf(FIXTURES / "raft_split_brain.itf.json"))
    rows = {line.split("|")[1].strip(): line for line in out.splitlines()
            if line.startswith("|") and line.split("|")[1].strip().isdigit()}
    assert rows["4"].split("|")[2].strip() == "F" and "crash 2" in rows["4"]
    assert rows["5"].split("|")[2].strip() == "F" and "restart 2" in rows["5"]
    assert rows["8"].split("|")[2].strip() == "!"
    assert rows["1"].split("|")[2].strip() == ""
    assert "violation at step 8: OneLeaderPerTerm (invariant)" in out
    assert "false: a=1, b=3: a.role == Leader" in out
    assert "in flight at the end: 1->3 RequestVote(term=1); 3->1 RequestVote(term=1)" in out


def test_only_changed_fields_are_shown():
    out = render_text(read_itf(FIXTURES / "raft_split_brain.itf.json"))
    row3 = [line for line in out.splitlines() if line.startswith("| 3 ")][0]
    cells = [c.strip() for c in row3.split("|")]
    assert cells[4] == "role=Leader"          # Node 1: only what step 3 changed
    assert cells[5] == cells[6] == ""         # Node 2, Node 3 unchanged


def test_trace_without_processes_or_violation():
    steps = [Step(0, {"kind": "init", "name": "init", "sent": []}, {"x": 0}),
             Step(1, {"kind": "action", "name": "Inc", "params": {"by": 1}}, {"x": 1})]
    out = render_text(Trace({"spec": "Counter"}, ["action", "x"], steps))
    assert "Counter: 1 step" in out and "Inc(by=1)" in out and "x=1" in out


def test_wants_color():
    assert wants_color(io.StringIO()) is False


def test_none_value_shown_as_none():
    steps = [Step(0, {"kind": "init"}, {"Node.leader": {"#map": [[1, NONE]]}})]
    trace = Trace({"processes": [{"kind": "Node", "id": 1}], "process_fields": {"Node.leader": "Node"}},
                  ["action", "Node.leader"], steps)
    assert "leader=none" in render_text(trace)
