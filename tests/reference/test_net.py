"""The protocols as real processes on 127.0.0.1: election, leader crash, partition, heal.

Every test goes through the `cluster` fixture (conftest.py), which stops each process it
started, also when the test fails, and then checks that none is left and no port is bound.
"""
from __future__ import annotations

import time

import pytest

from reference.node import load

pytestmark = pytest.mark.network


def final_states(c):
    """The last observed state of every live node, from the per-node trace files."""
    _, records = c.merge()
    last = {}
    for r in records:
        if r["node"] is not None:
            last[r["node"]] = r["state"]
    return {n: s for n, s in last.items() if n in c.alive()}


def elected_by(c, nodes, since):
    return sorted({n for _, n, e in c.elected_since(since) if n in nodes})


def agree_on_one_leader(c, algo):
    states = final_states(c)
    if algo == "raft":
        leaders = [n for n, s in states.items() if s["role"] == "Leader"]
        return len(leaders) == 1 and len({s["term"] for s in states.values()}) == 1
    field = "coordinator" if algo == "bully" else "leader"
    return len({s[field] for s in states.values()}) == 1 and None not in \
        {s[field] for s in states.values()}


@pytest.mark.parametrize("algo", ["raft", "paxos"])
def test_majority_protocols_on_five_processes(cluster, algo):
    c = cluster(algo, 5)
    # a leader within 2 s of start
    assert c.wait_for(lambda: c.current_leader() is not None, 2.0), "no leader 2 s after start"
    first = c.current_leader()
    # a new leader after the leader is killed
    c.kill(first)
    t = c.now()
    assert c.wait_for(lambda: c.current_leader() not in (None, first), 3.0)
    second = c.current_leader()
    assert second != first and elected_by(c, [second], t) == [second]
    # the killed node comes back with its durable state (and does not lead)
    c.restart(first)
    time.sleep(0.3)
    # the old leader and one other node on the minority side
    minority = [second, next(n for n in c.ids if n not in (first, second))]
    majority = [n for n in c.ids if n not in minority]
    c.partition([minority, majority])
    t = c.now()
    assert c.wait_for(lambda: elected_by(c, majority, t), 3.0), "the majority did not elect"
    time.sleep(0.8)  # the minority times out repeatedly meanwhile
    assert elected_by(c, minority, t) == [], "the minority elected a leader"
    new = elected_by(c, majority, t)[-1]
    # after heal: one leader, known to everyone
    c.heal()
    assert c.wait_for(lambda: c.leaders() == [c.current_leader()] and
                      c.current_leader() is not None, 3.0)
    assert c.wait_for(lambda: agree_on_one_leader(c, algo), 3.0), final_states(c)
    _, records = c.merge()
    safety = load(algo)[0].safety("", c.ids)
    for r in sorted(records, key=lambda r: r["wall"]):
        safety.observe(r)
    assert safety.violation is None
    assert new in c.ids


def test_bully_on_five_processes_splits_its_brain_under_a_partition(cluster):
    c = cluster("bully", 5)
    assert c.wait_for(lambda: c.current_leader() == 5, 2.0), "5 did not take over within 2 s"
    c.kill(5)
    assert c.wait_for(lambda: c.current_leader() == 4, 3.0)
    c.restart(5)  # the highest node bullies its way back
    assert c.wait_for(lambda: c.leaders() == [5], 3.0)
    c.partition([[1, 5], [2, 3, 4]])
    # both sides have a coordinator: expected split brain, Bully assumes no partitions
    assert c.wait_for(lambda: c.leaders() == [4, 5], 3.0), c.leaders()
    c.heal()
    assert c.wait_for(lambda: c.leaders() == [5], 3.0)
    assert c.wait_for(lambda: agree_on_one_leader(c, "bully"), 3.0), final_states(c)
    _, records = c.merge()
    safety = load("bully")[0].safety("", c.ids)
    for r in sorted(records, key=lambda r: r["wall"]):
        safety.observe(r)
    assert safety.violation is not None and "split brain" in safety.violation


def test_pause_and_resume_and_a_merged_trace_in_causal_order(cluster, tmp_path):
    c = cluster("raft", 3)
    assert c.wait_for(lambda: c.current_leader() is not None, 2.0)
    leader = c.current_leader()
    c.pause(leader)
    assert c.wait_for(lambda: any(n != leader for n in c.leaders()), 3.0)
    c.resume(leader)
    assert c.wait_for(lambda: len(c.leaders()) == 1, 3.0)   # the old one hears a higher term
    header, records = c.merge(tmp_path / "merged.jsonl")
    assert header["protocol"] == "raft" and header["driver"] == "net"
    assert (tmp_path / "merged.jsonl").read_text().count("\n") == len(records) + 1
    assert [r["seq"] for r in records] == list(range(1, len(records) + 1))
    clocks = [r["clock"] for r in records]
    assert clocks == sorted(clocks)
    # every receive comes after the send of its message (Lamport order)
    sent = set()
    for r in records:
        if r["input"]["kind"] == "receive":
            key = (r["input"]["from"], r["node"], str(r["input"]["msg"]))
            assert key in sent, f"received before sent: {r}"
        for e in r["effects"]:
            if e["kind"] == "send":
                sent.add((r["node"], e["to"], str(e["msg"])))


def test_ring_on_four_processes(cluster):
    opts = {1: {"initiator": False}, 2: {"initiator": True}, 3: {"initiator": False},
            4: {"initiator": True}}
    c = cluster("ring", 4, options=opts)
    assert c.wait_for(lambda: c.leaders() == [2], 2.0)
    assert c.wait_for(lambda: {s["leader"] for s in final_states(c).values()} == {2}, 2.0)
