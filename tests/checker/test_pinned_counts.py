"""Pinned numbers of the core specs: a change that moves one is a bug until explained."""
from __future__ import annotations

from pathlib import Path

import pytest

from checker import api

ROOT = Path(__file__).resolve().parents[2]
RAFT = str(ROOT / "spec" / "raft.elect")
CR = str(ROOT / "spec" / "chang_roberts.elect")


@pytest.mark.parametrize("model,defines,distinct,transitions", [
    ("yardstick", ["N=3"], 1111, 3900),
    ("yardstick", ["N=2", "MAX_TERM=3"], 4297, 16516),
    ("yardstick_multiset", ["N=2", "MAX_TERM=3"], 5572, 21156),
    ("yardstick_multiset", ["N=3"], 1111, 3900),
])
def test_raft_yardstick_counts(tmp_path, model, defines, distinct, transitions):
    r = api.check(RAFT, model, defines, symmetry=False, out_dir=str(tmp_path))
    assert r.verdict == "holds"
    assert (r.search.stats.distinct, r.search.stats.transitions) == (distinct, transitions)


@pytest.mark.slow
def test_raft_yardstick_n4(tmp_path):
    r = api.check(RAFT, "yardstick", ["N=4", "MAX_TERM=1"], symmetry=False, out_dir=str(tmp_path))
    assert (r.search.stats.distinct, r.search.stats.transitions) == (701064, 5229760)


def test_chang_roberts_matches_tlc(tmp_path):
    r = api.check(CR, None, [], out_dir=str(tmp_path))
    assert r.verdict == "holds"
    assert r.search.stats.distinct == 137     # TLC's count for MCChangRoberts.cfg (N = 3)


def test_raft_volatile_vote_counterexample(tmp_path):
    r = api.check(RAFT, "volatile_vote", [], out_dir=str(tmp_path))
    assert r.verdict == "violated" and r.property == "OneLeaderPerTerm"
    from checker.trace import describe_action
    steps = [describe_action(s.action) for s in r.trace.steps]
    assert steps == [
        "initial state",
        "timeout election @1",
        "deliver RequestVote(term=1) 1->2",
        "deliver Vote(term=1, granted=true) 2->1",
        "crash 2",
        "restart 2",
        "timeout election @3",
        "deliver RequestVote(term=1) 3->2",
        "deliver Vote(term=1, granted=true) 2->3",
    ]
    # replayed through the model: every step is a successor of the one before
    m = api.load_model(RAFT, "volatile_vote")
    states = r.search.states
    assert states[0] in m.init_states()
    for a, b in zip(states, states[1:]):
        assert b in m.successors(a)
    assert not m.properties[0].check(states[-1])


def test_symmetry_keeps_verdict_and_length(tmp_path):
    a = api.check(RAFT, "volatile_vote", [], symmetry=True, out_dir=str(tmp_path / "a"))
    b = api.check(RAFT, "volatile_vote", [], symmetry=False, out_dir=str(tmp_path / "b"))
    assert (a.verdict, a.search.stats.depth) == (b.verdict, b.search.stats.depth)
    assert a.search.stats.distinct < b.search.stats.distinct
