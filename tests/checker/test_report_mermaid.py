"""The Mermaid sequence diagram: golden renderings, and text Mermaid's grammar would misread."""
from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest

from checker.report.mermaid import render_mermaid
from checker.trace import Step, Trace, read_itf

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
def test_mermaid_matches_golden(case):
    assert_golden(f"{case}.mmd", render_mermaid(read_itf(FIXTURES / f"{case}.itf.json")))


@pytest.mark.parametrize("case", CASES)
def test_one_arrow_per_message_fate(case):
    trace = read_itf(FIXTURES / f"{case}.itf.json")
    out = render_mermaid(trace)
    lines = [line.strip() for line in out.splitlines()]
    assert lines[0] == "sequenceDiagram"
    kinds = [s.action["kind"] for s in trace.steps]
    delivered = [x for x in lines if "->>" in x and "-->>" not in x]
    assert len(delivered) == kinds.count("deliver")
    assert len([x for x in lines if "-->>" in x]) == kinds.count("duplicate")
    assert len([x for x in lines if "-x" in x.split(":")[0]]) == kinds.count("drop")
    final = trace.steps[-1].state["network"]["#map"]
    assert len([x for x in lines if "-)" in x.split(":")[0]]) == sum(c for _, c in final)
    for i, k in enumerate(kinds):
        if k in ("crash", "restart", "partition", "heal", "tick"):
            assert any(x.startswith("Note over") and f": {i}. {k}" in x for x in lines), (i, k)


def test_participants_in_lane_order():
    out = render_mermaid(read_itf(FIXTURES / "raft_split_brain.itf.json"))
    parts = [line.strip() for line in out.splitlines() if line.strip().startswith("participant ")]
    assert parts == ["participant Node1 as Node 1", "participant Node2 as Node 2", "participant Node3 as Node 3"]


def test_violation_in_a_red_rect():
    out = render_mermaid(read_itf(FIXTURES / "raft_split_brain.itf.json"))
    lines = [line.strip() for line in out.splitlines()]
    start = lines.index("rect rgb(255, 228, 228)")
    end = lines.index("end", start)
    assert any("8. violates OneLeaderPerTerm: a=1, b=3" in x for x in lines[start:end])


def test_reserved_characters_are_entity_codes():
    steps = [Step(0, {"kind": "init"}, {"Node.note": {"#map": [[1, "a;b#c<d>"]]}})]
    trace = Trace({"processes": [{"kind": "Node", "id": 1}], "process_fields": {"Node.note": "Node"}},
                  ["action", "Node.note"], steps)
    out = render_mermaid(trace)
    assert "note=a#59;b#35;c#lt;d#gt;" in out
    body = out.split("\n", 2)[2]           # past the header and the %% comment
    assert ";" not in body.replace("#59;", "").replace("#35;", "").replace("#lt;", "").replace("#gt;", "")


def test_fenced_for_markdown():
    out = render_mermaid(read_itf(FIXTURES / "raft_split_brain.itf.json"), fence=True)
    assert out.startswith("```mermaid\nsequenceDiagram\n") and out.endswith("```\n")
