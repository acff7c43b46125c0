"""Raft election: the transitions of the docstring, and safety on the simulator."""
from __future__ import annotations

import pytest
from hypothesis import given

from reference.drivers.sim import ScheduleError, replay
from reference.node import CancelTimer, Output, Persist, Send, SetTimer
from reference.raft import RaftNode
from simcheck import (ALL_FAULTS, CRASHY, PICKS, PROPERTY, SEEDS, Budget, find_violation,
                      picks_run, replays_without_violation, walk)


def started(n=1, nodes=3, variant="", durable=None):
    node = RaftNode(n, [m for m in range(1, nodes + 1) if m != n], variant, durable)
    node.on_start()
    return node


def test_start_is_a_follower_with_an_election_timer():
    node = RaftNode(1, [2, 3])
    assert node.on_start() == [SetTimer("election", 150, 300)]
    assert node.observed_state() == {"term": 0, "role": "Follower", "voted_for": None, "votes": []}


def test_election_timeout_makes_a_candidate_that_persists_before_sending():
    node = started(1)
    effects = node.on_timer("election")
    assert effects == [Persist({"term": 1, "voted_for": 1}),
                       Send(2, {"type": "RequestVote", "term": 1}),
                       Send(3, {"type": "RequestVote", "term": 1}),
                       SetTimer("election", 150, 300)]
    assert node.observed_state() == {"term": 1, "role": "Candidate", "voted_for": 1, "votes": [1]}


def test_one_vote_per_term():
    node = started(3)
    assert node.on_message(1, {"type": "RequestVote", "term": 1}) == [
        Persist({"term": 1, "voted_for": 1}), SetTimer("election", 150, 300),
        Send(1, {"type": "Vote", "term": 1, "granted": True})]
    assert node.on_message(2, {"type": "RequestVote", "term": 1}) == [
        Send(2, {"type": "Vote", "term": 1, "granted": False})]
    # the same candidate asking again gets the vote again (a duplicate RequestVote)
    assert node.on_message(1, {"type": "RequestVote", "term": 1})[-1] == \
        Send(1, {"type": "Vote", "term": 1, "granted": True})
    # a stale term is refused with the current term
    assert node.on_message(2, {"type": "RequestVote", "term": 0}) == [
        Send(2, {"type": "Vote", "term": 1, "granted": False})]


def test_majority_of_votes_makes_a_leader():
    node = started(1)
    node.on_timer("election")
    assert node.on_message(2, {"type": "Vote", "term": 1, "granted": False}) == []
    assert node.on_message(2, {"type": "Vote", "term": 1, "granted": True}) == [
        CancelTimer("election"), SetTimer("heartbeat", 0, 0),
        Output({"event": "Elected", "term": 1, "leader": 1})]
    assert node.observed_state() == {"term": 1, "role": "Leader", "voted_for": 1, "votes": [1, 2]}
    assert node.on_timer("heartbeat") == [Send(2, {"type": "Heartbeat", "term": 1}),
                                          Send(3, {"type": "Heartbeat", "term": 1}),
                                          SetTimer("heartbeat", 50, 50)]


def test_a_higher_term_makes_a_leader_step_down():
    node = started(1)
    node.on_timer("election")
    node.on_message(2, {"type": "Vote", "term": 1, "granted": True})
    assert node.on_message(3, {"type": "Heartbeat", "term": 4}) == [
        Persist({"term": 4, "voted_for": None}), CancelTimer("heartbeat"),
        SetTimer("election", 150, 300), Output({"event": "SteppedDown", "term": 1, "leader": 1}),
        SetTimer("election", 150, 300)]
    assert node.observed_state() == {"term": 4, "role": "Follower", "voted_for": None,
                                     "votes": [1, 2]}


def test_heartbeat_of_the_current_term_turns_a_candidate_into_a_follower():
    node = started(1)
    node.on_timer("election")
    assert node.on_message(2, {"type": "Heartbeat", "term": 1}) == [SetTimer("election", 150, 300)]
    assert node.observed_state()["role"] == "Follower"
    assert node.on_message(2, {"type": "Heartbeat", "term": 0}) == []


def test_restart_keeps_term_and_vote_unless_the_variant_forgets_them():
    node = started(3)
    node.on_message(1, {"type": "RequestVote", "term": 1})
    assert started(3, durable={"term": 1, "voted_for": 1}).observed_state() == \
        {"term": 1, "role": "Follower", "voted_for": 1, "votes": []}
    forgetful = started(3, variant="volatile-vote")
    [persist] = [e for e in forgetful.on_message(1, {"type": "RequestVote", "term": 1})
                 if isinstance(e, Persist)]
    assert persist == Persist({"term": 1})
    amnesiac = started(3, variant="volatile-term")
    [persist] = [e for e in amnesiac.on_message(1, {"type": "RequestVote", "term": 1})
                 if isinstance(e, Persist)]
    assert persist == Persist({"voted_for": 1})


def test_single_node_elects_itself():
    node = started(1, nodes=1)
    assert node.on_timer("election")[-1] == Output({"event": "Elected", "term": 1, "leader": 1})


# -- safety on the simulator ------------------------------------------------------

RV = {"type": "RequestVote", "term": 1}
GRANT = {"type": "Vote", "term": 1, "granted": True}


def deliver(src, dst, msg):
    return {"kind": "deliver", "from": src, "to": dst, "msg": msg}


#: Node 3 votes for 1, crashes, restarts and votes for 2 in the same term.
REVOTE = [{"kind": "timer", "node": 1, "name": "election"},
          {"kind": "timer", "node": 2, "name": "election"},
          deliver(1, 3, RV), deliver(3, 1, GRANT),
          {"kind": "crash", "node": 3}, {"kind": "restart", "node": 3},
          deliver(2, 3, RV), deliver(3, 2, GRANT)]
#: Node 3 votes for 1 and then for 2, no fault needed.
DOUBLE = REVOTE[:4] + REVOTE[6:]


@pytest.mark.parametrize("variant,schedule", [("volatile-vote", REVOTE),
                                              ("volatile-term", REVOTE),
                                              ("double-vote", DOUBLE)])
def test_shortest_counterexamples_replay(variant, schedule):
    sim = replay(f"raft:{variant}", 3, schedule)
    assert sim.violation == ("OneLeaderPerTerm violated: nodes 1 and 2 were both elected "
                             "leader in term 1")
    # the correct code refuses the second vote, so the last delivery is not possible
    with pytest.raises(ScheduleError, match=rf"step {len(schedule)}: no message "
                                            r"Vote\{term: 1, granted: true\} from 3 to 2 in flight"):
        replay("raft", 3, schedule)


@given(seed=SEEDS)
@PROPERTY
def test_no_two_leaders_in_a_term_under_every_fault(seed):
    sim, _ = walk("raft", seed, nodes=3, steps=200)
    assert sim.violation is None


@given(seed=SEEDS)
@PROPERTY
def test_no_two_leaders_in_a_term_with_five_nodes(seed):
    sim, _ = walk("raft", seed, nodes=5, steps=250, budget=Budget.all(2))
    assert sim.violation is None


@given(picks=PICKS)
@PROPERTY
def test_no_two_leaders_in_a_term_on_hypothesis_picked_schedules(picks):
    assert picks_run("raft", picks, nodes=4, budget=ALL_FAULTS).violation is None


@pytest.mark.parametrize("variant,budget", [("volatile-vote", Budget(crashes=2)),
                                            ("volatile-term", Budget(crashes=2)),
                                            ("double-vote", Budget())])
def test_each_broken_variant_is_found(variant, budget):
    schedule, _, violation = find_violation(f"raft:{variant}", 3, steps=40, budget=budget,
                                            weights=CRASHY)
    assert violation.startswith("OneLeaderPerTerm violated")
    assert len(schedule) <= 14
    assert replays_without_violation("raft", 3, schedule)
