"""The visited set the workers share (checker/explore/sharedset.c): claims, growth, and the
same search from run to run."""
from __future__ import annotations

from array import array
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from checker import api
from checker.explore import sharedset, workers

ROOT = Path(__file__).resolve().parents[2]
RAFT = str(ROOT / "spec" / "raft.elect")

lib = sharedset.library()
needs_lib = pytest.mark.skipif(lib is None, reason=f"no shared visited set here: {sharedset.why_not}")


@pytest.mark.skipif(sharedset.why_not == "ELECT_SHARED_SET=0", reason="ELECT_SHARED_SET=0")
def test_the_shared_set_builds_here():
    """This machine has the C compiler and Python's headers (make test installs nothing
    else for it), so the workers use the shared set; a machine without them falls back to
    the partitioned one (tested below)."""
    assert lib is not None, sharedset.why_not


@pytest.fixture
def table():
    t = sharedset.Table.new(1 << 10)
    lib.attach(t.addr, 0, 1, t.limit)
    yield t
    lib.attach(0, 0, 1, 0)
    t.close()


@needs_lib
def test_claims(table):
    base1, base2 = sharedset.claim_base(1), sharedset.claim_base(2)
    assert lib.claim(12345, base1 | 8) is True           # new
    assert lib.claim(12345, base1 | 8) is False          # the same parent again
    assert lib.claim(12345, base1 | 9) is False          # a parent ranked later
    assert lib.claim(12345, base1 | 3) is True           # one ranked earlier takes it over
    assert lib.claim(12345, base2 | 1) is False          # decided at an earlier level
    for h in (0, -1, -(1 << 63), (1 << 63) - 1):         # every fingerprint, 0 and -1 included
        assert lib.claim(h, base2 | 5) is True
        assert lib.claim(h, base2 | 5) is False
    assert not lib.full() and lib.filled(table.addr) == 4       # fingerprint 0 takes no slot


@needs_lib
@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(-3, 3), st.integers(0, 2), st.integers(-1, 5)), max_size=60))
def test_claims_against_a_model(events):
    """Claims made level by level (levels in order, as in a search): the set keeps the
    first level a fingerprint is seen at, and within that level the parent of least rank; kept()
    says which (fingerprint, parent) pairs hold it, after a rehash too."""
    t = sharedset.Table.new(1 << 10)
    lib.attach(t.addr, 0, 1, t.limit)
    try:
        model: dict[int, tuple[int, int]] = {}
        events = sorted(events, key=lambda e: e[1])
        for h, level, gid in events:
            got = lib.claim(h, sharedset.claim_base(level) | (gid + 1))
            old = model.get(h)
            want = old is None or (old[0] == level and gid < old[1])
            assert got is want
            if want:
                model[h] = (level, gid)
        big = t.grown(lib, 2000)
        try:
            for tab in (t, big):
                lib.attach(tab.addr, 0, 1, tab.limit)
                hs = array("q", [h for h, _, _ in events])
                gs = array("q", [g for _, _, g in events])
                for level in (0, 1, 2):
                    out = lib.kept(hs.buffer_info()[0], gs.buffer_info()[0], len(events), level, 0)
                    assert list(out) == [int(model.get(h) == (level, g)) for h, _, g in events]
        finally:
            big.close()
    finally:
        lib.attach(0, 0, 1, 0)
        t.close()


def _pool_counters(monkeypatch):
    seen = {}
    close = workers._Pool.close

    def spy(self):
        seen.update(shared=self.visited is not None, grows=self.grows, pauses=self.pauses)
        return close(self)
    monkeypatch.setattr(workers._Pool, "close", spy)
    return seen


def key(r):
    st_ = r.search.stats
    return (r.verdict, r.property, st_.distinct, st_.transitions, st_.depth, dict(r.search.witnessed))


@needs_lib
def test_a_table_that_grows_in_the_middle_of_levels(monkeypatch):
    """A first table of 64 slots: the workers pause in the middle of a level, the set grows,
    they go on; the counts are one process's."""
    monkeypatch.setattr(sharedset, "FIRST_SLOTS", 64)
    seen = _pool_counters(monkeypatch)
    one = api.check(RAFT, "default", [], symmetry=False, write_trace=False)
    two = api.check(RAFT, "default", [], symmetry=False, write_trace=False, workers=2)
    assert seen["shared"] and seen["pauses"] >= 1 and seen["grows"] >= seen["pauses"]
    assert key(two) == key(one) and one.search.stats.distinct == 31315


@needs_lib
def test_the_same_counterexample_every_run(tmp_path):
    """Which worker reaches a state first varies from run to run; which one keeps it (the
    parent first in the level) does not, so neither does the run shown."""
    runs = [api.check(RAFT, "volatile_vote", [], out_dir=str(tmp_path / str(i)), workers=2) for i in range(3)]
    assert all(r.verdict == "violated" for r in runs)
    first = runs[0].search
    for r in runs[1:]:
        assert (r.search.states, r.search.labels) == (first.states, first.labels)


def test_without_the_shared_set_the_workers_partition_it(monkeypatch):
    monkeypatch.setattr(sharedset, "_lib", None)
    seen = _pool_counters(monkeypatch)
    one = api.check(RAFT, "default", [], write_trace=False)
    two = api.check(RAFT, "default", [], write_trace=False, workers=2)
    assert seen["shared"] is False
    assert key(two) == key(one)
