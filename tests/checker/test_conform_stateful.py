"""Implementation and spec side by side under Hypothesis: random schedules (deliveries,
timers, loss, duplication, crashes, restarts, partitions) drive the reference Raft on the
untimed simulator, and every record it writes must match a step of spec/raft.elect. A
disagreement is shrunk by Hypothesis to a minimal schedule, printed as steps to replay.
The broken variants disagree, and the shrunk schedule is short."""
from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from checker.conform import ConformStream
from reference.drivers.sim import Budget, Sim

ROOT = Path(__file__).resolve().parents[2]
RAFT = str(ROOT / "spec" / "raft.elect")
STREAM = ConformStream(RAFT, "raft", [1, 2, 3])


def machine(algo: str):
    class SideBySide(RuleBasedStateMachine):
        """One schedule, two worlds: the code steps, the spec must follow."""

        @initialize()
        def start(self):
            self.sim = Sim(algo, 3, timed=False)
            self.schedule: list[dict] = []
            self.fed = 0
            STREAM.reset()
            self.verdict, self.reasons = "ok", []
            self.catch_up()

        def catch_up(self):
            lines = self.sim.records()
            for rec in lines[self.fed:]:
                if self.verdict == "ok":
                    self.verdict, self.reasons = STREAM.feed(rec)
                    self.where = rec
            self.fed = len(lines)

        @rule(pick=st.integers(0, Sim.PICK_RANGE - 1))
        def step(self, pick):
            options = self.sim.enabled(Budget(crashes=1, restarts=True, partitions=1, drops=2, duplicates=1))
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
            raise AssertionError(f"{algo} and spec/raft.elect part ways ({self.verdict}) at "
                                 f"{self.where['input']} of node {self.where['node']}:\n{why}\n"
                                 f"  replay: sim = Sim({algo!r}, 3, timed=False)\n{steps}")
    return SideBySide


def test_raft_and_its_spec_agree():
    run_state_machine_as_test(machine("raft"), settings=settings(
        max_examples=60, stateful_step_count=40, deadline=None, derandomize=True,
        suppress_health_check=list(HealthCheck)))


@pytest.mark.parametrize("variant,field", [("double-vote", "voted_for"), ("volatile-vote", "voted_for")])
def test_broken_variant_disagrees_on_a_short_schedule(variant, field):
    with pytest.raises(AssertionError) as info:
        run_state_machine_as_test(machine(f"raft:{variant}"), settings=settings(
            max_examples=300, stateful_step_count=30, deadline=None, derandomize=True,
            suppress_health_check=list(HealthCheck), phases=[Phase.generate, Phase.shrink]))
    text = str(info.value)
    assert "part ways (nonconform)" in text, text
    assert field in text
    steps = text.count("sim.step(")
    assert 1 <= steps <= 8, text
