"""`elect testgen`: a few runs of spec/raft.elect that cover every step class and outcome,
each replayed against the reference implementation in lockstep (every step possible in
the code, every observed field equal after every step). The broken variants part ways
with some run, at a named step and field."""
from __future__ import annotations

import io
import json
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from checker.cli import main
from checker.replay import replay
from checker.testgen import testgen

ROOT = Path(__file__).resolve().parents[2]
RAFT = str(ROOT / "spec" / "raft.elect")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    out = tmp_path_factory.mktemp("testgen")
    buf, err = io.StringIO(), io.StringIO()
    with redirect_stdout(buf), redirect_stderr(err):
        code = main(["testgen", RAFT, "--model", "default", "-D", "MAX_BEATS=1", "--out", str(out)])
    assert code == 0, err.getvalue()
    index = json.loads((out / "index.json").read_text())
    return out, index, buf.getvalue()


def test_every_step_class_and_fault_kind_is_covered(runs):
    out, index, text = runs
    assert index["unreached"] == []
    covered = {c for r in index["runs"] for c in r["classes"]}
    assert covered == set(index["classes"])
    assert {"crash", "restart", "partition", "heal", "timeout election", "timeout heartbeat",
            "deliver RequestVote", "deliver Vote", "deliver Heartbeat"} <= covered
    assert 3 <= len(index["runs"]) <= 30
    assert text.startswith("testgen ")
    for r in index["runs"]:
        tr = json.loads((out / r["file"]).read_text())
        assert tr["#meta"]["testgen"]["covers"]
        assert len(tr["states"]) == r["steps"] + 1


def test_runs_replay_in_lockstep_against_raft(runs):
    out, index, _ = runs
    for r in index["runs"]:
        res = replay(str(out / r["file"]), "raft")
        assert res.first is None, f"{r['file']}: {res.first.render()}"
        assert res.taken == r["steps"]
        assert res.exit_code == 0


@pytest.mark.parametrize("variant,field", [
    ("volatile-vote", "state.voted_for"), ("volatile-term", "state.term"), ("double-vote", "state.voted_for")])
def test_broken_variants_part_ways(runs, variant, field):
    out, index, _ = runs
    found = []
    for r in index["runs"]:
        res = replay(str(out / r["file"]), f"raft:{variant}")
        if res.first is not None:
            found.append(res.first)
    assert found, f"no generated run tells raft:{variant} from the spec"
    assert any(d.field == field for d in found), [d.render() for d in found]
    d = next(d for d in found if d.field == field)
    assert d.step >= 1 and d.action and d.spec != d.code


@pytest.mark.slow
def test_unreachable_classes_are_reported(tmp_path):
    res = testgen(RAFT, "default", [], str(tmp_path))
    assert res.unreached == ["timeout heartbeat", "deliver Heartbeat"]


def test_a_spec_with_two_process_kinds(tmp_path):
    """ZooKeeper's spec has clients and a server: each step's changed fields are read from
    the acting process's own kind (testgen indexed every kind's fields by the actor's id)."""
    res = testgen(str(ROOT / "spec" / "zookeeper.elect"), None, [], str(tmp_path))
    index = json.loads((tmp_path / "index.json").read_text())
    assert index["distinct"] == 19230
    assert "deliver Write" in index["classes"] and "deliver WriteResult" in index["classes"]
    # the default model has no reconnect and no server fault budget
    assert res.unreached == ["action reconnect", "action server_fault"]
    assert len(index["runs"]) == 7 and all((tmp_path / r["file"]).exists() for r in index["runs"])
