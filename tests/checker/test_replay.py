"""`elect replay`: a spec's counterexample drives the reference implementation.

The shortest split brain of spec/raft.elect's model volatile_vote is a real split brain in
raft:volatile-vote (and in the other broken variants), and no violation in the correct
raft, which parts ways with the run at the restart (it keeps its vote).
"""
from __future__ import annotations

import io
import json
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from checker.api import check
from checker.cli import main
from checker.replay import replay

ROOT = Path(__file__).resolve().parents[2]
RAFT = str(ROOT / "spec" / "raft.elect")


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def counterexamples(tmp_path_factory):
    out = {}
    for model, prop in (("volatile_vote", "OneLeaderPerTerm"), ("volatile_term", "TermsNeverDecrease")):
        d = tmp_path_factory.mktemp(model)
        res = check(RAFT, model, out_dir=str(d))
        assert res.verdict == "violated" and res.property == prop
        out[model] = res.trace_path
    return out


def test_volatile_vote_counterexample_is_a_real_split_brain(counterexamples):
    code, out, _ = cli("replay", counterexamples["volatile_vote"], "--impl", "raft:volatile-vote")
    assert code == 10, out
    assert "violated in the code: OneLeaderPerTerm violated: nodes" in out
    assert "were both elected leader in term 1 (at step 8)" in out
    assert "part ways" not in out        # the code follows the spec step for step


def test_correct_raft_does_not_break(counterexamples):
    res = replay(counterexamples["volatile_vote"], "raft")
    assert res.exit_code == 0 and res.verdict == "holds"
    d = res.first
    assert d is not None and d.action.startswith("restart") and d.field == "state.voted_for"
    assert d.code == "1" and d.spec == "none"
    assert res.skipped and res.skipped[-1].step == 8


@pytest.mark.parametrize("impl", ["raft:volatile-term", "raft:double-vote"])
def test_other_broken_variants_also_split(counterexamples, impl):
    assert replay(counterexamples["volatile_vote"], impl).exit_code == 10


def test_volatile_term_counterexample(counterexamples):
    """TermsNeverDecrease is not one of the code's monitors: it is evaluated on the code's
    observed state, with the spec's definition."""
    res = replay(counterexamples["volatile_term"], "raft:volatile-term")
    assert res.exit_code == 10 and "TermsNeverDecrease" in res.violation
    res = replay(counterexamples["volatile_term"], "raft")
    assert res.exit_code == 0 and res.first.field == "state.term"


def test_json_and_schedule(counterexamples):
    code, out, _ = cli("replay", counterexamples["volatile_vote"], "--impl", "raft:volatile-vote")
    res = replay(counterexamples["volatile_vote"], "raft:volatile-vote")
    obj = res.to_json()
    assert obj["verdict"] == "violated" and obj["broke_at"] == 8
    kinds = [s["kind"] for s in obj["schedule"]]
    assert "crash" in kinds and "restart" in kinds and kinds.count("deliver") >= 4
    json.dumps(obj)


def test_parted_ways_when_a_step_is_impossible(tmp_path):
    """A spec that sends what the code never sends: its run cannot be followed although
    every observed field agrees, which is exit 13 naming that step."""
    from checker.testgen import testgen
    spec = tmp_path / "raftx.elect"
    spec.write_text(Path(RAFT).read_text().replace(
        "        broadcast RequestVote(term)\n", "        broadcast RequestVote(term)\n        broadcast Heartbeat(term)\n", 1)
        + "\nmodel tiny:\n    N = 2\n    MAX_TERM = 1\n    network set\n")
    res = testgen(str(spec), "tiny", [], str(tmp_path / "runs"))
    runs = [r for r in res.runs if "deliver Heartbeat" in r["classes"]]
    assert runs
    path = str(tmp_path / "runs" / runs[0]["file"])
    code, out, _ = cli("replay", path, "--impl", "raft")
    assert code == 13, out
    assert "code and spec part ways at step" in out and "deliver Heartbeat(term=1)" in out
    assert "no message Heartbeat{term: 1}" in out


def test_bad_impl_is_exit_2(counterexamples):
    code, _, err = cli("replay", counterexamples["volatile_vote"], "--impl", "raft:nope")
    assert code == 2 and "raft:nope" in err and err.count("\n") == 1


def test_unreadable_trace_is_exit_2(tmp_path):
    p = tmp_path / "x.itf.json"
    p.write_text("{not json")
    code, _, err = cli("replay", str(p), "--impl", "raft")
    assert code == 2 and "not JSON" in err


def _tampered(src: str, tmp_path: Path, edit) -> str:
    obj = json.loads(Path(src).read_text())
    edit(obj)
    p = tmp_path / "tampered.itf.json"
    p.write_text(json.dumps(obj))
    return str(p)


def test_the_action_a_trace_names_must_be_the_spec_step(counterexamples, tmp_path):
    """The code is driven by the spec's own record of each step: a file whose action
    does not name the step between its two states is refused, not followed."""
    def edit(obj):
        obj["states"][2]["action"]["kind"] = "drop"
    bad = _tampered(counterexamples["volatile_vote"], tmp_path, edit)
    code, out, err = cli("replay", bad, "--impl", "raft:volatile-vote")
    assert code == 2 and out == ""
    assert err == (f"error: {bad}: state 2: the action recorded (drop RequestVote(term=1) 1->2) is not the spec's "
                   "step from state 1 to it (deliver RequestVote(term=1) 1->2)\n")


@pytest.mark.parametrize("field,value,message", [
    ("property", "Nope", '#meta.property "Nope" is not a property of'),
    ("model", 3, "#meta.model must be a model's name, not 3"),
])
def test_bad_meta_is_a_usage_error(counterexamples, tmp_path, field, value, message):
    bad = _tampered(counterexamples["volatile_vote"], tmp_path, lambda obj: obj["#meta"].__setitem__(field, value))
    code, out, err = cli("replay", bad, "--impl", "raft")
    assert code == 2 and message in err and len(err.splitlines()) == 1


def test_a_run_without_a_property_fails_when_the_code_leaves_it(tmp_path):
    """A testgen run has no property to watch: the run is the test, so a broken variant
    that leaves it (a field that differs) exits 13; the correct raft follows it (0)."""
    from checker.testgen import testgen
    res = testgen(RAFT, "default", [], str(tmp_path))
    first = str(tmp_path / res.runs[0]["file"])
    assert cli("replay", first, "--impl", "raft")[0] == 0
    codes = [cli("replay", str(tmp_path / r["file"]), "--impl", "raft:double-vote") for r in res.runs]
    assert any(c == 13 for c, _, _ in codes)
    out = next(o for c, o, _ in codes if c == 13)
    assert "field 'voted_for'" in out and "this run is not a behaviour of the code" in out
