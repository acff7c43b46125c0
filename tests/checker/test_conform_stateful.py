"""Implementation and spec side by side under Hypothesis: random schedules (deliveries,
timers, loss, duplication, crashes, restarts, partitions) drive a reference protocol on
the untimed simulator, and every record it writes must match a step of its spec (Raft:
spec/raft.elect; the ring: spec/chang_roberts.elect, whose message set has no
duplication and whose processes do not restart). A disagreement is shrunk by Hypothesis to
a minimal schedule, printed as steps to replay. The broken variants disagree, and the
shrunk schedule is short."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from checker.conform import ConformStream
from reference.drivers.sim import Budget, Sim

ROOT = Path(__file__).resolve().parents[2]
RAFT = str(ROOT / "spec" / "raft.elect")
RING = str(ROOT / "spec" / "chang_roberts.elect")
STREAMS = {"raft": (ConformStream(RAFT, "raft", [1, 2, 3]),
                    Budget(crashes=1, restarts=True, partitions=1, drops=2, duplicates=1)),
           "ring": (ConformStream(RING, "ring", [1, 2, 3]),
                    Budget(crashes=1, restarts=False, partitions=1, drops=2, duplicates=0))}


def machine(algo: str, budget: Budget | None = None):
    STREAM, default = STREAMS[algo.split(":")[0]]
    budget = budget or default
    spec = "spec/raft.elect" if algo.startswith("raft") else "spec/chang_roberts.elect"

    class SideBySide(RuleBasedStateMachine):
        """One schedule, two worlds: the code steps, the spec must follow."""

        @initialize(initiators=st.lists(st.booleans(), min_size=3, max_size=3))
        def start(self, initiators):
            options = None
            if algo.startswith("ring"):      # the ring's initiators are a choice too
                initiators[2] = initiators[2] or not any(initiators)
                options = {n: {"initiator": b} for n, b in zip((1, 2, 3), initiators)}
            self.sim = Sim(algo, 3, timed=False, options=options)
            self.schedule: list[dict] = []
            self.fed = 0
            STREAM.reset()
            self.verdict, self.reasons = "ok", []
            self.catch_up()

        def catch_up(self):
            lines = self.sim.lines
            for line in lines[self.fed:]:
                rec = json.loads(line)
                if self.verdict == "ok":
                    self.verdict, self.reasons = STREAM.feed(rec)
                    self.where = rec
            self.fed = len(lines)

        @rule(pick=st.integers(0, Sim.PICK_RANGE - 1))
        def step(self, pick):
            options = self.sim.enabled(budget)
            if not options:
                return
            choice = options[pick % len(options)]
            self.sim.step(choice)
            self.schedule.append(choice)
            self.catch_up()

        @invariant()
        def the_spec_follows(self):
            if self.verdict == "ok":
                return
            steps = "\n".join(f"    sim.step({c!r})" for c in self.schedule)
            why = "\n".join(f"  {r.render()}" for r in self.reasons)
            raise AssertionError(f"{algo} and {spec} part ways ({self.verdict}) at "
                                 f"{self.where['input']} of node {self.where['node']}:\n{why}\n"
                                 f"  replay: sim = Sim({algo!r}, 3, timed=False)\n{steps}")
    return SideBySide


def test_raft_and_its_spec_agree():
    run_state_machine_as_test(machine("raft"), settings=settings(
        max_examples=60, stateful_step_count=40, deadline=None, derandomize=True, database=None,
        suppress_health_check=list(HealthCheck)))


@pytest.mark.parametrize("algo", ["ring", "ring:lcr"])
def test_ring_and_its_spec_agree(algo):
    run_state_machine_as_test(machine(algo), settings=settings(
        max_examples=40, stateful_step_count=30, deadline=None, derandomize=True, database=None,
        suppress_health_check=list(HealthCheck)))


@pytest.mark.parametrize("algo,field,examples,budget", [
    pytest.param("raft:double-vote", "voted_for", 150, None, marks=pytest.mark.slow),
    ("raft:volatile-vote", "voted_for", 150, None),
    ("ring:forward-larger", "msgs", 200, Budget(crashes=0, restarts=False))])
def test_broken_variant_disagrees_on_a_short_schedule(algo, field, examples, budget):
    with pytest.raises(AssertionError) as info:
        run_state_machine_as_test(machine(algo, budget), settings=settings(
            max_examples=examples, stateful_step_count=20, deadline=None, derandomize=True, database=None,
            suppress_health_check=list(HealthCheck), phases=[Phase.generate, Phase.shrink]))
    text = str(info.value)
    assert "part ways (nonconform)" in text, text
    assert field in text
    steps = text.count("sim.step(")
    assert 1 <= steps <= 8, text
