"""The simulator: determinism, schedules, faults, the election meter."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from reference.drivers.sim import (Budget, Election, ScheduleError, Sim, read_trace, replay,
                                   schedule_from_trace, two_way_splits)

SCRIPT = "3s kill leader; 6s partition 1,2|3,4,5; 8s heal; 8500ms pause 2 for 500ms; 9s restart all"
ROOT = Path(__file__).resolve().parents[2]


def timed(algo="raft", seed=7, **kw):
    kw = {"faults": SCRIPT, "loss": 0.05, "duplicate": 0.05, **kw}
    sim = Sim(algo, 5, seed=seed, **kw)
    sim.run(10_000)
    return sim


@pytest.mark.parametrize("algo", ["raft", "paxos", "bully", "ring"])
def test_same_seed_same_bytes_other_seed_other_bytes(algo):
    a, b, c = timed(algo), timed(algo), timed(algo, seed=8)
    assert a.trace_text() == b.trace_text()
    assert a.trace_text() != c.trace_text()


def test_trace_is_independent_of_the_hash_seed(tmp_path):
    code = ("import sys, hashlib; from reference.drivers.sim import Sim\n"
            f"s = Sim('paxos', 5, seed=3, loss=0.05, duplicate=0.05, faults={SCRIPT!r})\n"
            "s.run(10000)\n"
            "u = Sim('raft', 4, seed=3, timed=False); u.run_random(400, __import__("
            "'reference.drivers.sim', fromlist=['Budget']).Budget.all(2))\n"
            "print(hashlib.sha256((s.trace_text() + u.trace_text()).encode()).hexdigest())\n")
    digests = set()
    for hashseed in ("0", "4242"):
        env = dict(os.environ, PYTHONHASHSEED=hashseed, PYTHONPATH=str(ROOT))
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                             text=True, timeout=60, check=True)
        digests.add(out.stdout.strip())
    assert len(digests) == 1


def test_trace_file_has_a_header_and_documented_records(tmp_path):
    sim = timed("raft")
    path = sim.write_trace(tmp_path / "t.jsonl")
    header, records = read_trace(path)
    assert header == {"header": True, "protocol": "raft", "variant": "", "nodes": [1, 2, 3, 4, 5],
                      "driver": "sim", "seed": 7, "timed": True, "latency": [1, 10],
                      "loss": 0.05, "duplicate": 0.05, "faults": SCRIPT,
                      "options": {str(n): {} for n in range(1, 6)}}
    assert [r["seq"] for r in records] == list(range(1, len(records) + 1))
    assert all(list(r) == ["seq", "clock", "wall", "node", "input", "state", "effects"]
               for r in records)
    kinds = {r["input"]["kind"] for r in records}
    assert kinds == {"start", "receive", "timer", "crash", "restart", "partition", "heal",
                     "drop", "duplicate"}
    first = records[0]
    assert first["input"] == {"kind": "start"} and first["node"] == 1
    assert first["state"] == {"term": 0, "role": "Follower", "voted_for": None, "votes": []}
    assert first["effects"][0]["kind"] == "set_timer" and 150 <= first["effects"][0]["after"] <= 300
    net = [r for r in records if r["node"] is None]
    assert all(r["state"] is None and r["effects"] == [] for r in net)
    assert {r["input"].get("reason") for r in net if r["input"]["kind"] == "drop"} == \
        {"loss", "partition", "down"}


@pytest.mark.parametrize("algo", ["raft", "paxos", "bully", "ring:lcr"])
def test_a_timed_trace_replays_step_for_step_untimed(algo):
    sim = timed(algo, loss=0.0) if algo != "bully" else timed(algo)
    schedule = schedule_from_trace(sim.records())
    again = replay(algo, 5, schedule, options=sim.options)

    def strip(rec):
        rec = dict(rec, wall=None)
        rec["effects"] = [{k: v for k, v in e.items() if k != "after"} for e in rec["effects"]]
        if rec["input"]["kind"] == "drop":  # untimed replay records why it dropped differently
            rec["input"] = {k: v for k, v in rec["input"].items() if k != "reason"}
        return rec
    assert [strip(r) for r in again.records()] == [strip(r) for r in sim.records()]


def test_untimed_steps_and_their_errors():
    sim = Sim("raft", 3, timed=False)
    assert sim.enabled() == [{"kind": "timer", "node": n, "name": "election"} for n in (1, 2, 3)]
    assert len(sim.enabled(Budget.all())) == 3 + 3 + 3  # timers, crashes, partitions
    with pytest.raises(ScheduleError, match=r"timer 'heartbeat' is not armed at node 1 \(armed: 'election'\)"):
        sim.step({"kind": "timer", "node": 1, "name": "heartbeat"})
    with pytest.raises(ScheduleError, match=r"no message Vote\{term: 1\} from 1 to 2 in flight "
                                            r"\(in flight: nothing\)"):
        sim.step({"kind": "deliver", "from": 1, "to": 2, "msg": {"type": "Vote", "term": 1}})
    with pytest.raises(ScheduleError, match="node 2 is not down"):
        sim.step({"kind": "restart", "node": 2})
    with pytest.raises(ScheduleError, match="no node 9"):
        sim.step({"kind": "crash", "node": 9})
    with pytest.raises(ScheduleError, match="bad partition sides"):
        sim.step({"kind": "partition", "sides": [[1], [2]]})
    with pytest.raises(ScheduleError, match="cannot heal: there is no partition"):
        sim.step({"kind": "heal"})
    with pytest.raises(ScheduleError, match="unknown step kind 'fly'"):
        sim.step({"kind": "fly"})
    with pytest.raises(ScheduleError, match="run\\(\\) is for timed"):
        sim.run(10)
    with pytest.raises(ScheduleError, match="step\\(\\) is for untimed"):
        Sim("raft", 3).step({"kind": "heal"})


def test_partition_holds_envelopes_until_heal_and_down_nodes_lose_them():
    sim = Sim("raft", 3, timed=False)
    sim.run_schedule([{"kind": "timer", "node": 1, "name": "election"},
                      {"kind": "partition", "sides": [[1], [2, 3]]}])
    rv = {"kind": "deliver", "from": 1, "to": 2, "msg": {"type": "RequestVote", "term": 1}}
    assert rv not in sim.enabled()
    with pytest.raises(ScheduleError, match=r"the partition 1\|2,3 separates 1 and 2"):
        sim.step(rv)
    sim.run_schedule([{"kind": "heal"}, {"kind": "crash", "node": 2}, rv])
    last = sim.records()[-1]
    assert last["node"] is None and last["input"]["kind"] == "drop" and \
        last["input"]["reason"] == "down"


def test_duplicates_and_drops():
    sim = Sim("raft", 3, timed=False)
    rv = {"from": 1, "to": 2, "msg": {"type": "RequestVote", "term": 1}}
    sim.run_schedule([{"kind": "timer", "node": 1, "name": "election"},
                      {"kind": "duplicate", **rv}, {"kind": "deliver", **rv},
                      {"kind": "deliver", **rv}, {"kind": "drop", "from": 1, "to": 3,
                                                   "msg": rv["msg"]}])
    kinds = [(r["node"], r["input"]["kind"]) for r in sim.records()[3:]]
    assert kinds == [(1, "timer"), (None, "duplicate"), (2, "receive"), (2, "receive"), (None, "drop")]


def test_splits():
    assert two_way_splits([1, 2, 3]) == [[[1], [2, 3]], [[1, 2], [3]], [[1, 3], [2]]]
    assert len(two_way_splits([1, 2, 3, 4, 5])) == 15


def test_pause_defers_a_node_and_faults_are_logged():
    sim = Sim("raft", 3, seed=1, faults="1s pause leader for 1s")
    sim.run(1999)
    leader = sim.fault_log[0][1]
    assert leader.startswith("pause leader (node ")
    n = int(leader.split("node ")[1][0])
    paused = [r for r in sim.records() if r["node"] == n and 1.0 < r["wall"] < 2.0]
    assert paused == []
    sim.run(3000)
    assert any(r["node"] == n and r["wall"] == 2.0 for r in sim.records())


def test_election_meter_on_a_known_run():
    sim = timed("raft", seed=7, faults="3s kill leader; 5s heal")
    first, second = sim.elections()
    assert first == Election("start", 0.0, 0.182, 19, 4, 1)
    assert second == Election("crash of node 4 (the leader)", 3.0, 3.351, 25, 1, 3)
    assert second.took == 0.351
    assert sim.fault_log == [(3.0, "kill leader (node 4)"), (5.0, "heal: no partition, skipped")]


def test_an_election_still_open_at_the_end_has_no_leader():
    sim = Sim("ring", 3, seed=1, options={n: {"initiator": True} for n in (1, 2, 3)},
              faults="1s kill 1")
    sim.run(3000)
    assert [(e.trigger, e.leader, e.end) for e in sim.elections()] == [
        ("start", 1, sim.elections()[0].end), ("crash of node 1 (the leader)", None, None)]


def test_bad_construction():
    with pytest.raises(ValueError, match="need at least 1 node"):
        Sim("raft", 0)
    with pytest.raises(ValueError, match="bad latency"):
        Sim("raft", 3, latency=(5, 1))
    with pytest.raises(ValueError, match="unknown protocol"):
        Sim("nope", 3)
    with pytest.raises(ValueError, match="a fault script needs a timed simulation"):
        Sim("raft", 3, timed=False, faults="1s heal")


def test_a_trace_file_replays_from_its_header(tmp_path):
    sim = Sim("ring", 4, seed=5, timed=False)
    sim.run_random(100, Budget.all())
    header, records = read_trace(sim.write_trace(tmp_path / "t.jsonl"))
    again = replay(f"{header['protocol']}:{header['variant']}", len(header["nodes"]),
                   schedule_from_trace(records), options=header["options"])
    assert again.lines == sim.lines
