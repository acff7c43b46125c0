"""Shared by the spec-library tests: every model is checked once per test session.

`checked(spec, model, defines, symmetry)` runs `api.check` (no trace file written) and
caches the result, so the pinned counts, the counterexample replays and the README
table test all look at the same runs.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from checker import api

ROOT = Path(__file__).resolve().parents[2]
SPEC_DIR = ROOT / "spec"

_cache: dict[tuple, api.CheckResult] = {}


def run_check(spec: str, model: str, defines: tuple[str, ...] = (), symmetry: bool = True) -> api.CheckResult:
    key = (spec, model, tuple(defines), symmetry)
    if key not in _cache:
        _cache[key] = api.check(str(SPEC_DIR / spec), model, list(defines), symmetry=symmetry, write_trace=False)
    return _cache[key]


@pytest.fixture(scope="session")
def checked():
    return run_check


@pytest.fixture(scope="session")
def spec_dir() -> Path:
    return SPEC_DIR

# the test modules import the pinned numbers from specs_pinned.py, next to this file,
# whatever pytest's import mode
import sys  # noqa: E402

if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))
