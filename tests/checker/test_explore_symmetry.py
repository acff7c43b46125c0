"""Symmetry reduction: exact orbit counts, sound renaming, the same verdicts and shortest
counterexample lengths as without it; and fingerprints that tell -1 from -2."""
from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from checker import api
from checker.explore import symmetry as S
from checker.explore.bfs import Checks, Search
from checker.explore.visited import safe_hash

ROOT = Path(__file__).resolve().parents[2]
SPECS = ROOT / "spec"
RAFT = str(SPECS / "raft.elect")


def reachable(m) -> set:
    """Every reachable state, as states (no fingerprints), ignoring the properties."""
    seen = set(m.init_states())
    frontier = list(seen)
    while frontier:
        nxt = []
        for s in frontier:
            for t in m.successors(s):
                if t not in seen:
                    seen.add(t)
                    nxt.append(t)
        frontier = nxt
    return seen


def count(m, canon) -> int:
    """distinct of a complete search (properties ignored), with this canonicalizer."""
    s = Search(m, canon=canon)
    s.checks = Checks([], [], [], [], False)
    s.pending = []
    s.run()
    return len(s.parent)


def all_renamings(c):
    keys = [list(itertools.permutations(range(lo, hi + 1))) for (lo, hi) in c._ranges]
    return list(itertools.product(*keys))


@pytest.mark.parametrize("spec,model,defines", [
    ("raft.elect", "volatile_vote", []),
    ("raft.elect", "yardstick", ["N=3"]),
    ("raft.elect", "yardstick_multiset", ["N=2", "MAX_TERM=3"]),
    ("zookeeper.elect", "no_fencing", []),
    pytest.param("raft.elect", "default", [], marks=pytest.mark.slow),
    pytest.param("zookeeper.elect", "default", [], marks=pytest.mark.slow),
    pytest.param("etcd.elect", "trust_campaign", [], marks=pytest.mark.slow),
])
def test_orbits_exact_against_every_renaming(spec, model, defines):
    """distinct under symmetry == the number of orbits, counted by trying every renaming of
    every reachable state; and every renamed state is itself reachable (renaming is sound)."""
    m = api.load_model(SPECS / spec, model, defines)
    c = S.canonicalizer(m)
    assert c is not None
    states = reachable(m)
    h = safe_hash(m)
    image = c.images.__globals__["image"]
    orbits = set()
    for s in states:
        imgs = [image(s, *c._perm_args(k)) for k in all_renamings(c)]
        assert all(x in states for x in imgs)
        orbits.add(min(h(x) for x in imgs))
    assert count(m, c) == len(orbits)
    assert count(m, None) == len(states)


def test_yardstick_n3_orbits():
    m = api.load_model(RAFT, "yardstick", ["N=3"])
    assert count(m, S.canonicalizer(m)) == 205


def test_yardstick_n4_orbits(tmp_path):
    r = api.check(RAFT, "yardstick", ["N=4", "MAX_TERM=1"], out_dir=str(tmp_path))
    assert r.symmetry and r.verdict == "holds"
    assert (r.search.stats.distinct, r.search.stats.transitions) == (30026, 224064)


def test_too_many_ties_never_merges_orbits(monkeypatch):
    """With one image per state (the cheap form for big id types) there are at least as
    many fingerprints as orbits and at most as many as states, and the verdict holds."""
    m = api.load_model(RAFT, "default")
    exact = count(m, S.canonicalizer(m))
    monkeypatch.setattr(S, "MAX_PERMUTATIONS", 1)
    cheap = count(m, S.canonicalizer(m))
    assert exact <= cheap <= count(m, None)
    r = api.check(RAFT, "volatile_vote", [], write_trace=False)
    assert (r.verdict, r.search.stats.depth) == ("violated", 8)


def test_canonical_image_is_in_the_orbit():
    m = api.load_model(RAFT, "default")
    c = S.canonicalizer(m)
    states = reachable(m)
    for s in list(states)[:500]:
        assert c.canonical(s) in states
        assert c.fingerprint(s) == hash(c.canonical(s))


def _models():
    out = []
    for spec in sorted(SPECS.glob("*.elect")):
        ts = api.load_spec(spec)
        if not any(t.symmetric for t in ts.idtypes.values()):
            continue
        for model in ts.models:
            slow = model == "large" or model.startswith("yardstick")
            out.append(pytest.param(spec.name, model, marks=[pytest.mark.slow] if slow else [],
                                    id=f"{spec.stem}-{model}"))
    return out


@pytest.mark.parametrize("spec,model", _models())
def test_same_verdict_and_length_with_and_without_symmetry(tmp_path, spec, model):
    a = api.check(str(SPECS / spec), model, [], symmetry=True, write_trace=False)
    b = api.check(str(SPECS / spec), model, [], symmetry=False, write_trace=False)
    assert a.symmetry
    assert (a.verdict, a.property) == (b.verdict, b.property)
    if a.search.states is not None:
        assert len(a.search.states) == len(b.search.states)
        # the run rebuilt under symmetry is a real run of the model
        m = api.load_model(SPECS / spec, model)
        assert a.search.states[0] in m.init_states()
        for s, t in zip(a.search.states, a.search.states[1:]):
            assert t in m.successors(s)
    assert a.search.stats.distinct <= b.search.stats.distinct


NEG = """spec Neg
var x: int = 0
var y: int = 0

action a requires x == 0:
    x = -1
    y = -2

action b requires x == 0:
    x = -2
    y = -1

invariant Small: x > -5
"""


def test_minus_one_and_minus_two_are_different_states(tmp_path):
    """hash(-1) == hash(-2) in CPython: (x, y) = (-1, -2) and (-2, -1) hash alike."""
    p = tmp_path / "neg.elect"
    p.write_text(NEG)
    m = api.load_model(p)
    a, b = m.successors(m.init_states()[0])
    assert a != b and hash(a) == hash(b)
    r = api.check(str(p), None, [], write_trace=False)
    assert r.search.stats.distinct == 3


def test_safe_fingerprint_rebuilds_only_what_holds_minus_one():
    """The generated safe hash equals hashing the whole state with every -1 replaced."""
    from checker.explore.visited import _unminus
    m = api.load_model(SPECS / "zookeeper.elect", "no_fencing")
    h = safe_hash(m)
    states = reachable(m)
    assert any(-1 in s[k] for s in states for k in range(len(s)) if isinstance(s[k], tuple))
    for s in states:
        assert h(s) == hash(_unminus(s))


NEG_BY_CONST = """spec NegByConst
const A: int = 1
var x: int = 0
var y: int = 0

action a requires x == 0:
    x = A
    y = A * 2

action b requires x == 0:
    x = A * 2
    y = A
"""


def test_a_spec_without_minus_skips_the_scan_unless_a_constant_is_negative(tmp_path):
    """No minus in the spec and no negative constant: no state can hold -1, so new states
    are not scanned (a fifth of a Raft search's time). `-D A=-1` gives the same spec the
    states (-1, -2) and (-2, -1), which hash alike: the scan is back and both are counted."""
    from checker.explore.visited import never_negative, scanner
    p = tmp_path / "negc.elect"
    p.write_text(NEG_BY_CONST)
    assert never_negative(api.load_model(p)) and scanner(api.load_model(p)) is None
    assert not never_negative(api.load_model(p, None, ["A=-1"]))
    assert api.check(str(p), None, [], write_trace=False).search.stats.distinct == 3
    for workers in (1, 2):
        r = api.check(str(p), None, ["A=-1"], write_trace=False, workers=workers)
        assert r.search.stats.distinct == 3
    for name, expected in (("raft", True), ("paxos", True), ("bully", True), ("chang_roberts", True), ("zookeeper", False),
                           ("etcd", False)):
        assert never_negative(api.load_model(SPECS / f"{name}.elect")) is expected, name


@pytest.mark.parametrize("body,never", [("x = 0 - 1", False), ("x = -x", False), ("x -= 1", False),
                                        ("x = x + 1", True)])
def test_any_int_minus_keeps_the_scan(tmp_path, body, never):
    """Only a minus on ints counts: a set difference (`s -= {1}`, `m[0] -= {1}`) does not."""
    from checker.explore.visited import never_negative
    p = tmp_path / "m.elect"
    p.write_text(f"spec M\nvar x: int = 0\nvar s: set[0..2] = {{}}\nvar m: map[0..1, set[0..2]] = {{0: {{}}, 1: {{}}}}\n\n"
                 f"action a requires x == 0:\n    {body}\n    s -= {{1}}\n    m[0] -= {{1}}\n")
    assert never_negative(api.load_model(p)) is never
