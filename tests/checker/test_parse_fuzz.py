"""Hypothesis feeds generated text to the parser and the type checker: every failure is a
SpecError whose diagnostics have a span and render without a traceback."""
from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings, strategies as st

from checker.diagnostics import SpecError
from checker.dsl.parse import parse
from checker.typecheck import typecheck

ROOT = Path(__file__).resolve().parents[2]
WORDS = ["spec", "const", "var", "type", "enum", "message", "process", "on", "timeout", "from", "action",
         "requires", "if", "elif", "else", "let", "send", "to", "broadcast", "choose", "in", "where", "all",
         "any", "invariant", "reachable", "final", "transition", "model", "network", "faults", "crash",
         "restart", "partition", "set", "map", "seq", "int", "bool", "none", "self", "true", "false", "and",
         "or", "not", "implies", "size", "durable", "ghost", "symmetric", "Node", "N", "x", "y", "role",
         "Leader", "1", "0", "3", "..", ":", "=", "==", "!=", "<", "<=", "+", "-", "*", "/", "%", "+=",
         "(", ")", "[", "]", "{", "}", ",", ".", "?", ";", "\n", "\n    ", "\n        ", " ", "#c\n", "\t",
         "'", "!", "@", "then"]

SEEDS = [p.read_text() for p in sorted((ROOT / "spec").glob("*.elect"))[:3]]


def _check(text: str):
    try:
        typecheck(parse(text, "fuzz.elect"))
    except SpecError as e:
        assert e.diagnostics
        for d in e.diagnostics:
            assert d.code.startswith("E") and len(d.code) == 4
            assert d.span is not None, d.render()
        e.render()


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.sampled_from(WORDS), max_size=40))
def test_token_soup(words):
    _check(" ".join(words))


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.text(max_size=200))
def test_arbitrary_text(text):
    _check(text)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.sampled_from(SEEDS), st.integers(min_value=0, max_value=10_000), st.integers(0, 30),
       st.sampled_from(WORDS))
def test_mutated_real_specs(seed, pos, cut, word):
    pos = pos % (len(seed) + 1)
    _check(seed[:pos] + word + seed[pos + cut:])
