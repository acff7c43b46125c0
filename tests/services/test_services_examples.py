"""The example traces under traces/recorded/{zookeeper,etcd}/ (recorded by `elect run`)
still follow the documented vocabulary and order, and show what they are named for."""
from __future__ import annotations

from pathlib import Path

import pytest

from reference.services.summary import summarize
from servicecheck import check, load

ROOT = Path(__file__).resolve().parents[2] / "traces" / "recorded"
EXAMPLES = sorted(p for d in ("zookeeper", "etcd") for p in (ROOT / d).glob("*.jsonl"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_example_trace(path):
    header, recs = load(path)
    facts = check(header, recs)
    s = summarize(recs)
    assert header["protocol"] == path.parent.name
    if "no-fencing" in path.name:
        assert header["fencing"] is False and s.stale_accepted
    else:
        assert s.stale_accepted == []
    assert bool(facts["anomalies"]) == ("anomaly" in path.name)


def test_examples_exist():
    assert {p.parent.name for p in EXAMPLES} == {"zookeeper", "etcd"}
