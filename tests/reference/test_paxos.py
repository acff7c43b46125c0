"""Paxos phase-1 election with a heartbeat lease: transitions, and safety on the simulator."""
from __future__ import annotations

import pytest
from hypothesis import given

from reference.drivers.sim import ScheduleError, replay
from reference.node import CancelTimer, Output, Persist, Send, SetTimer
from reference.paxos import PaxosNode
from simcheck import (ALL_FAULTS, PICKS, PROPERTY, SEEDS, Budget, find_violation, picks_run,
                      replays_without_violation, walk)


def started(n=1, nodes=3, variant="", durable=None):
    node = PaxosNode(n, [m for m in range(1, nodes + 1) if m != n], variant, durable)
    node.on_start()
    return node


def test_start():
    node = PaxosNode(2, [1, 3])
    assert node.on_start() == [SetTimer("election", 150, 300)]
    assert node.observed_state() == {"ballot": None, "promised": [0, 0], "role": "Follower",
                                     "leader": None, "promises": []}


def test_a_candidate_promises_its_own_ballot_first():
    node = started(2)
    assert node.on_timer("election") == [
        Persist({"promised": [1, 2]}),
        Send(1, {"type": "Prepare", "ballot": [1, 2]}),
        Send(3, {"type": "Prepare", "ballot": [1, 2]}),
        SetTimer("election", 150, 300)]
    assert node.observed_state() == {"ballot": [1, 2], "promised": [1, 2], "role": "Candidate",
                                     "leader": None, "promises": [2]}


def test_acceptor_promises_only_higher_ballots_and_never_goes_back():
    node = started(3)
    assert node.on_message(1, {"type": "Prepare", "ballot": [1, 1]}) == [
        Persist({"promised": [1, 1]}), SetTimer("election", 150, 300),
        Send(1, {"type": "Promise", "ballot": [1, 1]})]
    assert node.on_message(2, {"type": "Prepare", "ballot": [1, 2]})[-1] == \
        Send(2, {"type": "Promise", "ballot": [1, 2]})
    assert node.on_message(1, {"type": "Prepare", "ballot": [1, 1]}) == [
        Send(1, {"type": "Nack", "ballot": [1, 1], "promised": [1, 2]})]
    # a restarted acceptor remembers its promise
    again = started(3, durable={"promised": [1, 2]})
    assert again.on_message(1, {"type": "Prepare", "ballot": [1, 1]}) == [
        Send(1, {"type": "Nack", "ballot": [1, 1], "promised": [1, 2]})]


def test_majority_of_promises_elects_and_heartbeats_hold_the_lease():
    node = started(1)
    node.on_timer("election")
    assert node.on_message(2, {"type": "Promise", "ballot": [1, 1]}) == [
        CancelTimer("election"), SetTimer("heartbeat", 0, 0),
        Output({"event": "Elected", "ballot": [1, 1], "leader": 1, "quorum": [1, 2]})]
    assert node.on_timer("heartbeat")[0] == Send(2, {"type": "Heartbeat", "ballot": [1, 1]})
    follower = started(3)
    assert follower.on_message(1, {"type": "Heartbeat", "ballot": [1, 1]}) == [
        Persist({"promised": [1, 1]}), SetTimer("election", 150, 300)]
    assert follower.observed_state()["leader"] == 1


def test_a_stale_leader_is_nacked_and_steps_down():
    node = started(1)
    node.on_timer("election")
    node.on_message(2, {"type": "Promise", "ballot": [1, 1]})
    other = started(3, durable={"promised": [2, 2]})
    assert other.on_message(1, {"type": "Heartbeat", "ballot": [1, 1]}) == [
        Send(1, {"type": "Nack", "ballot": [1, 1], "promised": [2, 2]})]
    assert node.on_message(3, {"type": "Nack", "ballot": [1, 1], "promised": [2, 2]}) == [
        CancelTimer("heartbeat"), SetTimer("election", 150, 300),
        Output({"event": "SteppedDown", "ballot": [1, 1], "leader": 1})]
    assert node.observed_state()["role"] == "Follower"
    # the next ballot is above everything this node promised
    node.on_message(2, {"type": "Prepare", "ballot": [5, 2]})
    node.on_timer("election")
    assert node.observed_state()["ballot"] == [6, 1]


def test_bad_ballots_are_refused():
    node = started(1)
    with pytest.raises(ValueError, match="must be a ballot"):
        node.on_message(2, {"type": "Prepare", "ballot": [1]})
    with pytest.raises(ValueError, match="missing field 'ballot'"):
        node.on_message(2, {"type": "Promise"})


# -- safety on the simulator ------------------------------------------------------

def deliver(src, dst, msg):
    return {"kind": "deliver", "from": src, "to": dst, "msg": msg}


#: Four nodes, quorum 2: {1, 2} elect node 1 and {3, 4} elect node 3.
DISJOINT = [{"kind": "timer", "node": 1, "name": "election"},
            {"kind": "timer", "node": 3, "name": "election"},
            deliver(1, 2, {"type": "Prepare", "ballot": [1, 1]}),
            deliver(2, 1, {"type": "Promise", "ballot": [1, 1]}),
            deliver(3, 4, {"type": "Prepare", "ballot": [1, 3]}),
            deliver(4, 3, {"type": "Promise", "ballot": [1, 3]})]


def test_shortest_counterexample_of_minority_quorum_replays():
    sim = replay("paxos:minority-quorum", 4, DISJOINT)
    assert sim.violation == ("QuorumsIntersect violated: node 3 was elected for ballot (1, 3) "
                             "by [3, 4] and node 1 for ballot (1, 1) by [1, 2]: the quorums are "
                             "disjoint")
    ok = replay("paxos", 4, DISJOINT)
    assert ok.violation is None and ok.leaders() == []


def test_two_leaders_of_different_ballots_may_coexist_but_quorums_intersect():
    # node 1 is elected by {1, 2}; node 3 then by {2, 3}: node 1 has not heard yet
    steps = [{"kind": "timer", "node": 1, "name": "election"},
             deliver(1, 2, {"type": "Prepare", "ballot": [1, 1]}),
             deliver(2, 1, {"type": "Promise", "ballot": [1, 1]}),
             {"kind": "timer", "node": 3, "name": "election"},
             deliver(3, 2, {"type": "Prepare", "ballot": [1, 3]}),
             deliver(2, 3, {"type": "Promise", "ballot": [1, 3]})]
    sim = replay("paxos", 3, steps)
    assert sim.leaders() == [1, 3] and sim.violation is None
    with pytest.raises(ScheduleError, match="no message Promise"):
        replay("paxos", 3, steps + [deliver(2, 1, {"type": "Promise", "ballot": [1, 1]})])


@given(seed=SEEDS)
@PROPERTY
def test_quorums_intersect_under_every_fault(seed):
    sim, _ = walk("paxos", seed, nodes=3, steps=200)
    assert sim.violation is None


@given(seed=SEEDS)
@PROPERTY
def test_quorums_intersect_with_four_nodes(seed):
    sim, _ = walk("paxos", seed, nodes=4, steps=250, budget=Budget.all(2))
    assert sim.violation is None


@given(picks=PICKS)
@PROPERTY
def test_quorums_intersect_on_hypothesis_picked_schedules(picks):
    assert picks_run("paxos", picks, nodes=4, budget=ALL_FAULTS).violation is None


@pytest.mark.parametrize("nodes", [3, 4])
def test_minority_quorum_is_found(nodes):
    schedule, _, violation = find_violation("paxos:minority-quorum", nodes, steps=40,
                                            budget=Budget())
    assert violation.startswith("QuorumsIntersect violated")
    assert len(schedule) <= 8
    assert replays_without_violation("paxos", nodes, schedule)
