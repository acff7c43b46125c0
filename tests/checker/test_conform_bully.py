"""Bully (reference/bully.py) held to spec/bully.elect through spec/bully.map.json.

The spec writes Bully's synchrony assumption into its timeout guards, and Bully's own
README says what happens outside it; conform reports exactly that: runs with crashes
conform; a partition is a real split brain (exit 10, OneLiveLeader, at the record that
made the second coordinator), and so is the restart of the old coordinator (exit 10);
a paused coordinator makes a follower's `leader` timer fire while the coordinator is up,
which the spec's synchrony guard forbids (exit 13, naming the guard). The broken
variants: no-answer-wait (role Leader where the spec says Electing), short-timeout (the
`answer` guard; under the model slow_answer, which drops that assumption, exit 10)."""
from __future__ import annotations

import io
from pathlib import Path

import pytest

from checker.api import check
from checker.conform import conform, render_text
from checker.conformance.records import parse_records
from checker.replay import replay
from checker.testgen import testgen as generate
from reference.drivers.sim import Sim

ROOT = Path(__file__).resolve().parents[2]
BULLY = str(ROOT / "spec" / "bully.elect")
KILLS = ["", "1s kill leader", "1s kill leader; 2s kill leader", "0.5s kill 1; 1.5s kill leader"]


def run(algo: str, n: int, seed: int, faults: str, model: str | None = None):
    sim = Sim(algo, n, seed=seed, faults=faults or None)
    sim.run(3000)
    return conform(BULLY, f"<{algo} seed {seed}>", model, [], records=parse_records(sim.trace_text()))


if not Path(BULLY).exists():
    pytest.skip("spec/bully.elect is not there yet", allow_module_level=True)

CASES = [pytest.param(3 + s % 3, s, KILLS[s % len(KILLS)], id=f"n{3 + s % 3}-seed{s}") for s in range(20)]


@pytest.mark.parametrize("n,seed,faults", CASES)
def test_runs_with_crashes_conform(n, seed, faults):
    res = run("bully", n, seed, faults)
    assert res.verdict == "conforms", render_text(res)


@pytest.mark.network
def test_network_run_with_a_kill_conforms(tmp_path):
    from reference.drivers.run import run_main
    trace = tmp_path / "bully.jsonl"
    code = run_main(["bully", "--nodes", "4", "--duration", "2.5", "--faults", "1s kill leader",
                     "--trace", str(trace)], out=io.StringIO(), err=io.StringIO())
    assert code == 0
    res = conform(BULLY, str(trace))
    assert res.verdict == "conforms", render_text(res)


def test_partition_is_a_real_split_brain():
    res = run("bully", 5, 5, "1s partition 1,2|3,4,5; 2s heal")
    assert res.verdict == "violated" and res.exit_code == 10
    assert res.outcome.violation.prop == "OneLiveLeader"
    rec = res.failed_record
    assert rec.input["kind"] == "timer" and rec.state["role"] == "Leader"
    assert "Node.role = {" in render_text(res)


def test_restart_of_the_old_coordinator_is_a_second_coordinator():
    """reference/bully.py says so: the restarted highest node takes over at once, while the
    coordinator elected meanwhile has not heard of it yet."""
    res = run("bully", 5, 4, "1s kill leader; 1.5s restart 5")
    assert res.verdict == "violated" and res.outcome.violation.prop == "OneLiveLeader"
    rec = res.failed_record
    assert rec.node == 5 and rec.state["role"] == "Leader"


def test_pause_breaks_the_synchrony_assumption():
    res = run("bully", 5, 3, "1s pause leader for 0.5s")
    assert res.verdict == "nonconform"
    r = res.reasons[0]
    assert r.what == "guard" and "coordinator_up(self)" in r.text
    assert res.failed_record.input == {"kind": "timer", "name": "leader"}


def test_no_answer_wait_is_caught():
    res = run("bully:no-answer-wait", 4, 1, "1s kill leader")
    assert res.verdict == "nonconform"
    assert {"field": "state.role", "spec": "Electing", "recorded": '"Leader"'}.items() <= \
        res.reasons[0].to_json().items()


def test_short_timeout_is_caught_and_splits_under_slow_answer():
    res = run("bully:short-timeout", 4, 1, "1s kill leader")
    assert res.verdict == "nonconform" and res.reasons[0].what == "guard"
    assert "answer_coming(self)" in res.reasons[0].text
    res = run("bully:short-timeout", 4, 1, "1s kill leader", model="slow_answer")
    assert res.verdict == "violated"


def test_testgen_runs_replay_in_lockstep_and_catch_no_answer_wait(tmp_path):
    res = generate(BULLY, "default", [], str(tmp_path))
    assert "deliver Coordinator" in {c for r in res.runs for c in r["classes"]}
    caught = []
    for r in res.runs:
        assert replay(str(tmp_path / r["file"]), "bully").first is None
        rep = replay(str(tmp_path / r["file"]), "bully:no-answer-wait")
        if rep.first is not None:
            caught.append(rep.first)
    assert caught and caught[0].field == "state.role"


def test_partition_counterexample_replays_to_a_split_brain(tmp_path):
    res = check(BULLY, "partition", out_dir=str(tmp_path))
    assert res.verdict == "violated"
    rep = replay(res.trace_path, "bully")
    assert rep.exit_code == 10 and "OneLiveLeader" in rep.violation
