"""Chang-Roberts / LCR ring election: transitions, outcomes, safety on the simulator."""
from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from reference.drivers.sim import ScheduleError, Sim, replay
from reference.node import Output, Send, SetTimer
from reference.ring import RingNode
from simcheck import ALL_FAULTS, PROPERTY, SEEDS, Budget, find_violation, walk

ALL_INIT = {n: {"initiator": True} for n in (1, 2, 3)}


def test_start_and_successor():
    node = RingNode(3, [1, 2], initiator=True)
    assert node.on_start() == [SetTimer("initiate", 0, 20)]
    assert node.succ == 1
    assert node.observed_state() == {"state": "cand", "initiator": True, "leader": None}
    quiet = RingNode(1, [2, 3], initiator=False)
    assert quiet.on_start() == [] and quiet.observed_state()["state"] == "lost"
    assert RingNode(1, [2, 3], "lcr", initiator=False).initiator is True


def test_transitions_of_chang_roberts():
    node = RingNode(2, [1, 3], initiator=True)
    node.on_start()
    assert node.on_timer("initiate") == [Send(3, {"type": "Election", "id": 2})]
    assert node.on_message(1, {"type": "Election", "id": 3}) == []          # larger: swallowed
    assert node.on_message(1, {"type": "Election", "id": 1}) == [
        Send(3, {"type": "Election", "id": 1})]                           # smaller: lost
    assert node.observed_state()["state"] == "lost"
    assert node.on_message(1, {"type": "Election", "id": 3}) == [
        Send(3, {"type": "Election", "id": 3})]                           # lost: pass all on
    winner = RingNode(1, [2, 3], initiator=True)
    winner.on_start()
    assert winner.on_message(3, {"type": "Election", "id": 1}) == [
        Output({"event": "Elected", "leader": 1}), Send(2, {"type": "Elected", "leader": 1})]
    assert winner.on_message(3, {"type": "Election", "id": 1}) == []        # a duplicate
    assert winner.on_message(3, {"type": "Elected", "leader": 1}) == []
    assert node.on_message(1, {"type": "Elected", "leader": 1}) == [
        Send(3, {"type": "Elected", "leader": 1})]
    assert node.observed_state() == {"state": "lost", "initiator": True, "leader": 1}


@pytest.mark.parametrize("variant,initiators,winner", [
    ("", [2, 4], 2), ("", [5], 5), ("lcr", [], 1)])
def test_the_smallest_initiator_wins_and_everyone_learns_it(variant, initiators, winner):
    opts = {n: {"initiator": n in initiators} for n in range(1, 6)}
    sim = Sim(f"ring:{variant}" if variant else "ring", 5, seed=3, options=opts)
    sim.run(2000)
    assert [n for _, n, e in sim.outputs if e["event"] == "Elected"] == [winner]
    assert {sim.node[n].leader for n in sim.ids} == {winner}
    [election] = sim.elections()
    assert election.leader == winner and election.trigger == "start"


def test_the_driver_picks_at_least_one_initiator():
    for seed in range(50):
        sim = Sim("ring", 4, seed=seed)
        assert any(o["initiator"] for o in sim.options.values())


def deliver(src, dst, msg):
    return {"kind": "deliver", "from": src, "to": dst, "msg": msg}


#: Node 1 passes 2's id on, so 2 wins; then 1's own id comes back and 1 wins too.
TWO_WINNERS = [{"kind": "timer", "node": 2, "name": "initiate"},
               deliver(2, 3, {"type": "Election", "id": 2}),
               deliver(3, 1, {"type": "Election", "id": 2}),
               deliver(1, 2, {"type": "Election", "id": 2}),
               {"kind": "timer", "node": 1, "name": "initiate"},
               deliver(1, 2, {"type": "Election", "id": 1}),
               deliver(2, 3, {"type": "Election", "id": 1}),
               deliver(3, 1, {"type": "Election", "id": 1})]


def test_shortest_counterexample_of_forward_larger_replays():
    sim = replay("ring:forward-larger", 3, TWO_WINNERS, options=ALL_INIT)
    assert sim.violation == "OneWinner violated: nodes 1 and 2 both won the ring election"
    with pytest.raises(ScheduleError, match="step 4: no message Election"):
        replay("ring", 3, TWO_WINNERS, options=ALL_INIT)


@given(seed=SEEDS, nodes=st.integers(2, 5))
@PROPERTY
def test_one_winner_under_every_fault(seed, nodes):
    for algo in ("ring", "ring:lcr"):
        sim, _ = walk(algo, seed, nodes=nodes, steps=150, budget=ALL_FAULTS)
        assert sim.violation is None


def test_forward_larger_is_found():
    schedule, options, violation = find_violation("ring:forward-larger", 3, steps=40,
                                                  budget=Budget())
    assert violation.startswith("OneWinner violated")
    assert len(schedule) <= 12
