"""The shortest counterexample of every failure model, pinned step by step and replayed.

Each failure model's counterexample is pinned as the list of its actions (as `elect
show` prints them), and then replayed through a freshly compiled model: from the
initial state, each step must be an enabled step of the model with that action that
leads to the recorded state, and the last state must break the property the way the
verdict says (an invariant false there; a transition property false on the last step;
a `final` property false in a state where no step is enabled).
"""
from __future__ import annotations

import pytest

from checker.api import load_model
from checker.trace import describe_action

from specs_pinned import CASES, FAST, SLOW


def replay(spec_path, model_name, res):
    """Drive a fresh model through the trace; return (model, states)."""
    m = load_model(spec_path, model_name)
    steps = res.trace.steps
    cur = next((s for s in m.init_states() if m.state_itf(s) == steps[0].state), None)
    assert cur is not None, "the initial state is not an initial state of the model"
    states = [cur]
    for st in steps[1:]:
        want = describe_action(st.action)
        nxt = [t for lab, t in m.successors_labeled(cur)
               if describe_action(m.action_itf(lab, cur, t)) == want and m.state_itf(t) == st.state]
        assert nxt, f"step {st.index} ({want}) is not a step of the model from the state before it"
        cur = nxt[0]
        states.append(cur)
    return m, states


@pytest.mark.parametrize("key", list(CASES), ids=lambda k: f"{k[0]}:{k[1]}")
def test_counterexample(checked, spec_dir, key):
    spec, model = key
    res = checked(spec, model)
    assert res.trace is not None
    actions = [describe_action(s.action) for s in res.trace.steps[1:]]
    assert actions == CASES[key]

    m, states = replay(str(spec_dir / spec), model, res)
    prop = next(p for p in m.properties if p.name == res.property)
    last = states[-1]
    if prop.kind == "invariant":
        assert res.verdict == "violated"
        assert all(q.check(s) for s in states[:-1] for q in m.of_kind("invariant"))
        assert not prop.check(last)
    elif prop.kind == "transition":
        assert res.verdict == "violated"
        assert not prop.check(states[-2], last)
    else:
        assert prop.kind == "final" and res.verdict == "deadlock"
        assert m.successors(last) == []
        assert not prop.check(last)


def test_failure_models_are_all_here():
    """Every model that does not hold (as the pinned numbers say) has a pinned run here."""
    failing = {(s, m) for (s, m, d, sym), out in {**FAST, **SLOW}.items() if out[0] != "holds"}
    assert failing == set(CASES)
