"""Traces of real ZooKeeper and etcd elections (reference/services) held to
spec/zookeeper.elect and spec/etcd.elect through their mappings: client lanes are a
process, the resource lane another, the service lane the spec's globals; session ids are
numbered in the order they appear, ticks are silent. The runtime check of issue 9: the
no-fencing pause run breaks NoStaleWrite at the resource's stale accept (exit 10)."""
from __future__ import annotations

import io
import json
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from checker.cli import main
from checker.conform import conform, render_text

ROOT = Path(__file__).resolve().parents[2]
ZK = ROOT / "spec" / "zookeeper.elect"
ZK_TRACES = ROOT / "traces" / "recorded" / "zookeeper"
if not ZK.exists():
    pytest.skip("spec/zookeeper.elect is not there yet", allow_module_level=True)
HAS_RESIGN = "action resign" in ZK.read_text()


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def test_zookeeper_stale_write_without_fencing_is_exit_10():
    trace = ZK_TRACES / "pause-no-fencing.jsonl"
    code, out, err = cli("conform", str(ZK), str(trace), "--model", "no_fencing", "--json")
    assert code == 10, out + err
    obj = json.loads(out)
    assert obj["property"] == "NoStaleWrite"
    rec = obj["record"]
    assert rec["node"] == "resource" and rec["input"]["kind"] == "accept" and rec["input"]["stale"] is True
    assert any(line.startswith("Resource.stale_accepted = ") for line in obj["state"])


def test_zookeeper_no_fencing_run_is_not_the_fenced_model():
    res = conform(str(ZK), str(ZK_TRACES / "pause-no-fencing.jsonl"))
    assert res.verdict == "nonconform"
    rec = res.failed_record
    assert rec.input["kind"] == "accept" and rec.input["stale"] is True
    assert any(r.what == "sends" and "accepted=false" in r.text for r in res.reasons), render_text(res)


@pytest.mark.skipif(not HAS_RESIGN, reason="spec/zookeeper.elect has no `action resign` yet")
def test_zookeeper_fenced_pause_run_conforms():
    res = conform(str(ZK), str(ZK_TRACES / "pause-fenced.jsonl"))
    assert res.verdict == "conforms", render_text(res)


def test_zookeeper_fenced_run_matches_up_to_the_end_of_the_run():
    """Every record before the clients resign at the end of the run matches (the resign
    itself needs the spec's `action resign`)."""
    res = conform(str(ZK), str(ZK_TRACES / "pause-fenced.jsonl"))
    if res.verdict == "conforms":
        return
    assert res.failed_record.kind == "resign"
    assert all(r.kind != "resign" for r in res.records[:res.outcome.failed_at])
