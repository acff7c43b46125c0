"""Paxos election (reference/paxos.py) held to spec/paxos.elect through spec/paxos.map.json.

The spec adds phase 2's value to state the classic Paxos property; those fields
(Promise.vbal/vval, Heartbeat.value and the nodes' vbal, vval, best, value, round) are not
in the traces: conform keeps them unobserved and compares the messages the code sends on
the fields it does show. Runs with loss, duplication, kills, restarts and partitions
conform; minority-quorum is caught where a node leads on too few promises; testgen runs
replay in lockstep; the minority_quorum counterexample is a real disjoint-quorum election
in the code and none in the correct code."""
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
PAXOS = str(ROOT / "spec" / "paxos.elect")
if not Path(PAXOS).exists():
    pytest.skip("spec/paxos.elect is not there yet", allow_module_level=True)

SCRIPTS = ["", "1s kill leader; 1.5s restart all", "1s partition 1,2|3,4,5; 2s heal",
           "0.5s kill 2; 1s kill leader; 1.8s restart all; 2.2s isolate leader; 2.8s heal"]


def run(algo: str, n: int, seed: int, faults: str, loss=0.0, dup=0.0, model=None):
    sim = Sim(algo, n, seed=seed, loss=loss, duplicate=dup, faults=faults or None)
    sim.run(3000)
    return conform(PAXOS, f"<{algo} seed {seed}>", model, [], records=parse_records(sim.trace_text()))


CASES = [pytest.param(5 if SCRIPTS[s % 4] else 3 + s % 3, s, SCRIPTS[s % 4], 0.05 * (s % 2), 0.03 * (s % 3 == 0),
                      id=f"seed{s}") for s in range(20)]
CASES.append(pytest.param(5, 4, "1s pause leader for 0.6s; 2s kill leader; 2.1s restart all", 0, 0,
                          id="pause"))


@pytest.mark.parametrize("n,seed,faults,loss,dup", CASES)
def test_runs_conform(n, seed, faults, loss, dup):
    res = run("paxos", n, seed, faults, loss, dup)
    assert res.verdict == "conforms", render_text(res)


@pytest.mark.network
def test_network_run_conforms(tmp_path):
    from reference.drivers.run import run_main
    trace = tmp_path / "paxos.jsonl"
    code = run_main(["paxos", "--nodes", "3", "--duration", "2.5", "--faults", "1s kill leader; 1.5s restart all",
                     "--trace", str(trace)], out=io.StringIO(), err=io.StringIO())
    assert code == 0
    res = conform(PAXOS, str(trace))
    assert res.verdict == "conforms", render_text(res)


def test_minority_quorum_is_caught():
    res = run("paxos:minority-quorum", 5, 1, SCRIPTS[1], loss=0.05)
    assert res.verdict == "nonconform"
    assert res.failed_record.state["role"] == "Leader"
    r = res.reasons[0]
    assert r.field == "state.role" and r.spec == "Candidate"


def test_testgen_runs_replay_in_lockstep(tmp_path):
    res = generate(PAXOS, "default", ["N=2", "MAX_ROUND=2"], str(tmp_path))
    assert res.unreached == []
    broke = []
    for r in res.runs:
        rep = replay(str(tmp_path / r["file"]), "paxos")
        assert rep.first is None, f"{r['file']}: {rep.first.render()}"
        bad = replay(str(tmp_path / r["file"]), "paxos:minority-quorum")
        if bad.first is not None:
            broke.append(bad.first)
    assert broke and broke[0].field == "state.role"


def test_minority_quorum_counterexample(tmp_path):
    res = check(PAXOS, "minority_quorum", out_dir=str(tmp_path))
    assert res.verdict == "violated" and res.property == "QuorumsIntersect"
    rep = replay(res.trace_path, "paxos:minority-quorum")
    assert rep.exit_code == 10 and "QuorumsIntersect violated" in rep.violation
    rep = replay(res.trace_path, "paxos")
    assert rep.exit_code == 0 and rep.first.field == "state.role"
