"""Pinned outcomes of every model of every shipped spec (spec/*.elect).

For each model: the verdict, the property behind it, distinct states, transitions and
depth, with symmetry reduction (the default) and, where it is cheap, without. Numbers
with symmetry depend on the canonicalizer too; numbers without it only on the spec and
the explorer. A change that moves one is a bug until explained. `large` models (and
Raft's yardsticks at N = 4) run only with `-m slow`.

The numbers live in specs_pinned.py. `test_every_shipped_model_has_a_row_with_its_defaults`
keeps the list complete: a model added to a spec without a row there fails it.
"""
from __future__ import annotations

import pytest

from checker.api import load_spec
from checker.table import spec_models

from specs_pinned import FAST, SLOW


def outcome(res) -> tuple:
    st = res.search.stats
    return (res.verdict, res.property, st.distinct, st.transitions, st.depth)


@pytest.mark.parametrize("key", list(FAST), ids=lambda k: f"{k[0]}:{k[1]}{''.join('-' + d for d in k[2])}"
                         f"{'' if k[3] else '-nosym'}")
def test_model(checked, key):
    spec, model, defines, sym = key
    assert outcome(checked(spec, model, defines, sym)) == FAST[key]


@pytest.mark.slow
@pytest.mark.parametrize("key", list(SLOW), ids=lambda k: f"{k[0]}:{k[1]}{''.join('-' + d for d in k[2])}"
                         f"{'' if k[3] else '-nosym'}")
def test_large_model(checked, key):
    spec, model, defines, sym = key
    assert outcome(checked(spec, model, defines, sym)) == SLOW[key]


def test_every_shipped_model_has_a_row_with_its_defaults(spec_dir):
    """Each model appears at least once as the table shows it (no -D, symmetry on)."""
    as_shipped = {(spec, model) for (spec, model, defines, sym) in {**FAST, **SLOW} if not defines and sym}
    missing = {(p.name, m) for p, m in spec_models(spec_dir)} - as_shipped
    assert missing == set(), f"models without pinned numbers: {sorted(missing)}"


def test_specs_open_with_prose_naming_a_source(spec_dir):
    for path in sorted(spec_dir.glob("*.elect")):
        lines = path.read_text().splitlines()
        assert lines[0].startswith("spec "), path.name
        prose = []
        for line in lines[1:]:
            if not line.startswith("#"):
                break
            prose.append(line)
        assert len(prose) >= 8, f"{path.name}: the opening prose is {len(prose)} lines"
        text = " ".join(prose)
        assert any(ch.isdigit() for ch in text[:400]), f"{path.name}: no year or section cited up front"
        load_spec(path)   # and it type-checks
