"""Spec-driven lockstep under Hypothesis: each step picks one of the spec's enabled steps
(its own guards, so Bully's synchrony is respected), the reference implementation takes
the same step on the simulator (checker.replay.Lockstep), and every observed field must
agree afterwards. A disagreement shrinks to a short run of spec steps."""
from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from checker.api import load_model
from checker.replay import Lockstep
from checker.trace import describe_action

ROOT = Path(__file__).resolve().parents[2]
MODELS = {
    "raft": (str(ROOT / "spec" / "raft.elect"), "default", ["MAX_TERM=2", "MAX_BEATS=1"]),
    "bully": (str(ROOT / "spec" / "bully.elect"), "default", []),
    "ring": (str(ROOT / "spec" / "chang_roberts.elect"), "crash", ["CRASHES=1"]),
    "paxos": (str(ROOT / "spec" / "paxos.elect"), "default", []),
}
_cache: dict = {}


def model(protocol: str):
    if protocol not in _cache:
        path, name, defines = MODELS[protocol]
        if not Path(path).exists():
            pytest.skip(f"{path} is not there yet")
        _cache[protocol] = load_model(path, name, defines)
    return _cache[protocol]


def machine(impl: str):
    m = model(impl.split(":")[0])

    class SpecDriven(RuleBasedStateMachine):
        @initialize(which=st.integers(0, 255))
        def start(self, which):
            inits = m.init_states()
            self.s = inits[which % len(inits)]
            self.ls = Lockstep(m, impl, self.s)
            self.run: list[str] = []
            self.problem = None

        @rule(pick=st.integers(0, 1 << 16))
        def step(self, pick):
            if self.problem:
                return
            succ = m.successors_labeled(self.s)
            if not succ:
                return
            lab, s2 = succ[pick % len(succ)]
            action = m.action_itf(lab, self.s, s2)
            self.run.append(describe_action(action))
            failed, diffs = self.ls.step(action, s2)
            self.s = s2
            if failed:
                self.problem = f"not possible in the code: {failed}"
            elif diffs:
                n, f, sv, cv = diffs[0]
                self.problem = f"node {n}: field '{f}': spec {sv}, code {cv}"

        @invariant()
        def code_follows_spec(self):
            if self.problem:
                steps = "\n".join(f"    {i}. {a}" for i, a in enumerate(self.run, 1))
                raise AssertionError(f"{impl} parts ways with the spec at step {len(self.run)}: "
                                     f"{self.problem}\n{steps}")
    return SpecDriven


FAST = dict(deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))


@pytest.mark.parametrize("impl", ["raft", "bully", "ring", "paxos"])
def test_code_follows_its_spec(impl):
    run_state_machine_as_test(machine(impl), settings=settings(max_examples=40, stateful_step_count=25, **FAST))


@pytest.mark.parametrize("impl,field", [("raft:volatile-vote", "voted_for"),
                                        pytest.param("raft:volatile-term", "term", marks=pytest.mark.slow),
                                        ("raft:double-vote", "voted_for"), ("bully:no-answer-wait", "role"),
                                        ("paxos:minority-quorum", "role")])
def test_broken_variant_parts_ways_on_a_short_run(impl, field):
    with pytest.raises(AssertionError) as info:
        run_state_machine_as_test(machine(impl), settings=settings(
            max_examples=200, stateful_step_count=20, phases=[Phase.generate, Phase.shrink], **FAST))
    text = str(info.value)
    assert f"field '{field}'" in text, text
    assert text.count("\n    ") <= 8, text
