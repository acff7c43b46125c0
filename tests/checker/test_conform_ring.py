"""The ring (reference/ring.py: Chang-Roberts, and LCR where every node initiates) held to
spec/chang_roberts.elect through spec/chang_roberts.map.json: the spec keeps messages in a
global variable (the ids waiting at each node, a set), so the mapping turns a receive
into the action `receive(p)` with the id as its `choose` value and checks each send
against `msgs`. Runs with loss, kills and partitions conform (the spec has no restart and,
its messages being a set, no duplication); forward-larger is caught at the record that
forwards a larger id; testgen runs replay in lockstep."""
from __future__ import annotations

import io
from pathlib import Path

import pytest

from checker.conform import conform, render_text
from checker.conformance.records import parse_records
from checker.replay import replay
from checker.testgen import testgen as generate
from reference.drivers.sim import Sim

ROOT = Path(__file__).resolve().parents[2]
RING = str(ROOT / "spec" / "chang_roberts.elect")
FAULTS = ["", "0.005s kill 3", "0.01s kill 1; 0.02s kill 4", "0.002s partition 1,2|3,4,5; 0.03s heal"]


def run(algo: str, seed: int):
    f = FAULTS[seed % len(FAULTS)]
    n = 5 if f else 3 + seed % 5
    sim = Sim(algo, n, seed=seed, loss=0.05 * (seed % 2), faults=f or None)
    sim.run(500)
    return conform(RING, f"<{algo} seed {seed}>", None, [], records=parse_records(sim.trace_text()))


CASES = [("ring", s) for s in range(12)] + [("ring:lcr", s) for s in range(12, 20)]


@pytest.mark.parametrize("algo,seed", CASES, ids=[f"{a}-{s}" for a, s in CASES])
def test_simulated_ring_runs_conform(algo, seed):
    res = run(algo, seed)
    assert res.verdict == "conforms", render_text(res)


@pytest.mark.network
def test_network_ring_run_conforms(tmp_path):
    from reference.drivers.run import run_main
    trace = tmp_path / "ring.jsonl"
    code = run_main(["ring:lcr", "--nodes", "5", "--duration", "1", "--trace", str(trace)],
                    out=io.StringIO(), err=io.StringIO())
    assert code == 0
    res = conform(RING, str(trace))
    assert res.verdict == "conforms", render_text(res)


def test_forward_larger_is_caught_where_it_forwards():
    for seed in range(20):
        res = run("ring:forward-larger", seed)
        if res.verdict != "conforms":
            break
    else:
        pytest.fail("no run of ring:forward-larger was rejected")
    assert res.verdict == "nonconform"
    rec = res.failed_record
    assert rec.kind == "receive" and rec.input["msg"]["id"] > rec.node
    r = res.reasons[0]
    assert r.field == "effects[0]" and "the spec does not add it to msgs[" in r.text


def test_a_restart_is_not_a_step_of_this_spec():
    sim = Sim("ring", 3, seed=1, faults="0.001s kill 2; 0.002s restart 2")
    sim.run(300)
    res = conform(RING, "<restart>", None, [], records=parse_records(sim.trace_text()))
    assert res.verdict == "nonconform" and res.failed_record.kind == "restart"


def test_testgen_runs_replay_in_lockstep(tmp_path):
    res = generate(RING, "crash", ["CRASHES=1"], str(tmp_path))
    assert res.unreached == []
    for r in res.runs:
        rep = replay(str(tmp_path / r["file"]), "ring")
        assert rep.first is None, rep.first.render()
        assert rep.taken == r["steps"]


# ---- the same runs of ring:lcr against spec/lcr.elect (actor style, the code's own names) ----

LCR = str(ROOT / "spec" / "lcr.elect")
LCR_FAULTS = ["", "0.005s kill 3; 0.008s restart 3", "0.002s partition 1,2|3,4,5; 0.03s heal", "0.01s kill 2"]


@pytest.mark.skipif(not Path(LCR).exists(), reason="spec/lcr.elect is not there yet")
@pytest.mark.parametrize("seed", range(6))
def test_lcr_runs_conform_to_the_lcr_spec(seed):
    f = LCR_FAULTS[seed % len(LCR_FAULTS)]
    sim = Sim("ring:lcr", 5, seed=seed, loss=0.05 * (seed % 2), duplicate=0.05 * (seed % 3 == 0), faults=f or None)
    sim.run(500)
    res = conform(LCR, f"<lcr seed {seed}>", None, [], records=parse_records(sim.trace_text()))
    assert res.verdict == "conforms", render_text(res)


@pytest.mark.skipif(not Path(LCR).exists(), reason="spec/lcr.elect is not there yet")
def test_plain_ring_is_not_lcr():
    sim = Sim("ring", 4, seed=1)
    sim.run(300)
    res = conform(LCR, "<ring>", None, [], records=parse_records(sim.trace_text()))
    assert res.verdict == "nonconform" and res.failed_record.kind == "start"
    assert any(r.field == "state.initiator" for r in res.reasons)
