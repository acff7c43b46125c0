"""Traces of real ZooKeeper and etcd elections (reference/services) held to
spec/zookeeper.elect and spec/etcd.elect through their mappings: client lanes are a
process, the resource lane another, the service lane the spec's globals; session ids are
numbered in the order they appear, ticks are silent. The runtime check of issue 9: the
no-fencing pause run breaks NoStaleWrite at the resource's stale accept (exit 10).

These are the traces kept in traces/recorded/; the live tests in tests/services hold every
trace they record to the same specs."""
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


# ---- etcd ------------------------------------------------------------------------------------

ETCD = ROOT / "spec" / "etcd.elect"
ETCD_TRACES = ROOT / "traces" / "recorded" / "etcd"
needs_etcd = pytest.mark.skipif(not ETCD.exists(), reason="spec/etcd.elect is not there yet")


@needs_etcd
def test_etcd_stale_write_without_fencing_is_exit_10():
    code, out, err = cli("conform", str(ETCD), str(ETCD_TRACES / "pause-no-fencing.jsonl"), "--model", "no_fencing",
                         "--json")
    assert code == 10, out + err
    obj = json.loads(out)
    assert obj["property"] == "NoStaleWrite"
    assert obj["record"]["node"] == "resource" and obj["record"]["input"]["stale"] is True


@needs_etcd
def test_etcd_campaign_anomaly_is_exit_10_when_the_client_trusts_the_answer():
    res = conform(str(ETCD), str(ETCD_TRACES / "campaign-anomaly.jsonl"), "trust_campaign")
    assert res.verdict == "violated" and res.outcome.violation.prop == "LeadsOnlyWithKey"
    rec = res.failed_record
    assert rec.input["kind"] == "elected" and rec.state["role"] == "leader"
    text = render_text(res)
    assert f"line {rec.line}" in text and "Client.role = " in text


@needs_etcd
def test_etcd_campaign_anomaly_is_not_a_run_of_the_verifying_client():
    res = conform(str(ETCD), str(ETCD_TRACES / "campaign-anomaly.jsonl"))
    assert res.verdict == "nonconform" and res.failed_record.input["kind"] == "elected"
    r = res.reasons[0]
    assert r.what == "guard" and "require not VERIFY_CAMPAIGN" in r.text and "keys = " in r.text


@needs_etcd
def test_etcd_fenced_pause_run_conforms():
    res = conform(str(ETCD), str(ETCD_TRACES / "pause-fenced.jsonl"))
    assert res.verdict == "conforms", render_text(res)
    assert res.props == ["OneLiveLeader", "NoStaleWrite", "LeadsOnlyWithKey"]


# ---- server faults and restarts ------------------------------------------------------------------

SERVER_KILLS = [(ZK, ZK_TRACES / "server-leader-kill.jsonl"), (ETCD, ETCD_TRACES / "server-leader-kill.jsonl")]


@needs_etcd
@pytest.mark.parametrize("spec,trace", SERVER_KILLS, ids=["zookeeper", "etcd"])
def test_server_leader_kill_runs_conform(spec, trace):
    """3 servers, the server-side leader killed: ZooKeeper clients are suspended and
    reconnect with their sessions, etcd clients give up their leases on the local
    deadline; both only after the spec's server_fault step (the kill_server record)."""
    res = conform(str(spec), str(trace))
    assert res.verdict == "conforms", render_text(res)
    kinds = [r.kind for r in res.records]
    assert "kill_server" in kinds
    after = kinds[kinds.index("kill_server"):]
    assert ("suspend" if spec == ZK else "lease_lost") in after


@needs_etcd
@pytest.mark.parametrize("spec,trace", SERVER_KILLS, ids=["zookeeper", "etcd"])
def test_without_server_faults_the_server_kill_has_no_step(spec, trace):
    code, out, err = cli("conform", str(spec), str(trace), "-D", "SERVER_FAULTS=0", "--json")
    assert code == 13, out + err
    obj = json.loads(out)
    assert obj["record"]["input"]["kind"] == "kill_server"
    assert "SERVER_FAULTS" in obj["bound"]


@needs_etcd
def test_etcd_client_restart_with_server_faults_conforms():
    """Client 1 is killed while leading (a write of it still prepared, never sent),
    started again, then the only server is paused, killed and restarted: the new
    incarnation is not held up by the dead one's write, and both clients give up their
    leases on the deadline and resign at the end."""
    trace = ETCD_TRACES / "restart-and-server-faults.jsonl"
    res = conform(str(ETCD), str(trace))
    assert res.verdict == "conforms", render_text(res)
    kinds = [(r.node, r.kind) for r in res.records]
    assert kinds.index((1, "kill")) < kinds.index((1, "restart")) < kinds.index((1, "resign"))
    assert (1, "lease_lost") in kinds and ("service", "kill_server") in kinds


@needs_etcd
def test_etcd_resign_without_a_lease_changes_nothing():
    """A client whose lease was lost resigns at the end of the run with nothing to revoke."""
    from checker.conformance.records import parse_records
    lines = (ETCD_TRACES / "pause-fenced.jsonl").read_text().splitlines()
    last = json.loads(lines[-1])
    extra = {"seq": last["seq"] + 1, "clock": last["clock"] + 1, "wall": last["wall"] + 0.01, "node": 1,
             "input": {"kind": "resign", "session": None},
             "state": {"role": "idle", "token": None, "session": None}, "effects": []}
    res = conform(str(ETCD), "<resign twice>", None, [], records=parse_records("\n".join(lines + [json.dumps(extra)])))
    assert res.verdict == "conforms", render_text(res)
    extra["state"]["role"] = "leader"
    res = conform(str(ETCD), "<resign twice>", None, [], records=parse_records("\n".join(lines + [json.dumps(extra)])))
    assert res.verdict == "nonconform" and res.failed_record.index == len(lines)
