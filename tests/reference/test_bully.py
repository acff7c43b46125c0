"""Bully: transitions, and on the timed simulator: safe with crashes under its timing
assumptions, split brain under a partition, broken variants found."""
from __future__ import annotations

from hypothesis import find, given, strategies as st

from reference.bully import BullyNode
from reference.drivers.sim import Sim
from reference.node import CancelTimer, Output, Send, SetTimer
from simcheck import FIRST, PROPERTY, SEARCH, SEEDS


def started(n, nodes=5, variant=""):
    node = BullyNode(n, [m for m in range(1, nodes + 1) if m != n], variant)
    node.on_start()
    return node


def test_start_waits_for_a_coordinator():
    node = BullyNode(3, [1, 2, 4, 5])
    assert node.on_start() == [SetTimer("leader", 250, 400)]
    assert node.observed_state() == {"role": "Idle", "coordinator": None}


def test_an_election_asks_the_higher_nodes_and_waits():
    node = started(3)
    assert node.on_timer("leader") == [Send(4, {"type": "Election"}), Send(5, {"type": "Election"}),
                                       CancelTimer("leader"), SetTimer("answer", 100, 100)]
    assert node.observed_state()["role"] == "Electing"
    assert node.on_message(5, {"type": "Answer"}) == [CancelTimer("answer"),
                                                      SetTimer("coordinator", 300, 300)]
    assert node.observed_state()["role"] == "Waiting"
    assert node.on_message(5, {"type": "Coordinator", "leader": 5}) == [
        CancelTimer("coordinator"), SetTimer("leader", 250, 400)]
    assert node.observed_state() == {"role": "Idle", "coordinator": 5}


def test_no_answer_means_this_node_is_the_highest_alive():
    node = started(3)
    node.on_timer("leader")
    assert node.on_timer("answer") == [
        Send(1, {"type": "Coordinator", "leader": 3}), Send(2, {"type": "Coordinator", "leader": 3}),
        Send(4, {"type": "Coordinator", "leader": 3}), Send(5, {"type": "Coordinator", "leader": 3}),
        CancelTimer("answer"), SetTimer("heartbeat", 100, 100), Output({"event": "Elected", "leader": 3})]
    assert node.observed_state() == {"role": "Leader", "coordinator": 3}


def test_the_highest_node_takes_over_at_once_and_bullies_lower_ones():
    top = started(5)
    assert top.on_message(2, {"type": "Election"})[:2] == [
        Send(2, {"type": "Answer"}), Send(1, {"type": "Coordinator", "leader": 5})]
    assert top.observed_state()["role"] == "Leader"
    assert top.on_message(3, {"type": "Coordinator", "leader": 3}) == [
        Send(3, {"type": "Coordinator", "leader": 5})]
    low = started(3)
    low.on_timer("leader")
    low.on_timer("answer")
    assert low.on_message(5, {"type": "Coordinator", "leader": 5}) == [
        CancelTimer("heartbeat"), SetTimer("leader", 250, 400),
        Output({"event": "SteppedDown", "leader": 3, "new": 5})]


def test_variants():
    hasty = started(3, variant="no-answer-wait")
    effects = hasty.on_timer("leader")
    assert effects[:2] == [Send(4, {"type": "Election"}), Send(5, {"type": "Election"})]
    assert effects[-1] == Output({"event": "Elected", "leader": 3})
    short = started(3, variant="short-timeout")
    assert short.on_timer("leader")[-1] == SetTimer("answer", 1, 1)


# -- the timed simulator: latency 1..10 ms, answer timeout 100 ms ----------------

KILLS = st.lists(st.tuples(st.integers(0, 4000), st.integers(1, 5)), max_size=3)


def kill_script(kills):
    return "; ".join(f"{at}ms kill {n}" for at, n in kills) or None


@given(seed=SEEDS, kills=KILLS)
@PROPERTY
def test_one_live_leader_with_crashes_and_timeouts_longer_than_a_round_trip(seed, kills):
    sim = Sim("bully", 5, seed=seed, latency=(1, 10), duplicate=0.05, faults=kill_script(kills))
    sim.run(5000)
    assert sim.violation is None
    live = sim.live()
    if live:  # and the highest live node leads in the end
        assert sim.leaders() == [max(live)]


def test_split_brain_under_a_partition_is_found():
    def split(args):
        seed, at, k = args
        sides = f"{','.join(map(str, range(1, k + 1)))}|{','.join(map(str, range(k + 1, 6)))}"
        sim = Sim("bully", 5, seed=seed, faults=f"{at}ms partition {sides}")
        sim.run(at + 1500)
        return sim.violation is not None
    seed, at, k = find(st.tuples(SEEDS, st.integers(0, 3000), st.integers(1, 4)), split,
                       settings=FIRST)
    assert split((seed, at, k))


def test_split_brain_both_sides_elect():
    sim = Sim("bully", 5, seed=1, faults="1s partition 1,2|3,4,5; 3s heal")
    sim.run(2900)
    assert sim.leaders() == [2, 5]
    assert sim.violation == ("OneLiveLeader violated: nodes 2 and 5 are both Leader at once "
                             "(split brain)")
    sim.run(4000)  # after heal the higher coordinator bullies the lower one
    assert sim.leaders() == [5]


def test_a_restarted_highest_node_is_briefly_a_second_leader():
    sim = Sim("bully", 5, seed=2, faults="1s kill 5; 2s restart 5")
    sim.run(4000)
    assert sim.violation == ("OneLiveLeader violated: nodes 4 and 5 are both Leader at once "
                             "(split brain)")
    assert sim.leaders() == [5]


def test_broken_variants_are_found_without_any_fault():
    for variant in ("no-answer-wait", "short-timeout"):
        def breaks(seed):
            sim = Sim(f"bully:{variant}", 5, seed=seed)
            sim.run(2000)
            return sim.violation is not None
        assert breaks(find(SEEDS, breaks, settings=SEARCH))
