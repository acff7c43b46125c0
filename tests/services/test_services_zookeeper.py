"""Real ZooKeeper 3.8 elections under faults (kazoo clients, the fencing resource).

Session timeout 2 s: a leader paused for 3.5 s has its session expired by the server
while it sleeps; on SIGCONT it still delivers the write it had prepared.

Every recorded trace is also held to spec/zookeeper.elect: a fenced run conforms (every
invariant holding at every record), the unfenced pause run breaks NoStaleWrite at the
resource's stale accept (exit 10 under --model no_fencing)."""
from __future__ import annotations

import pytest

from servicecheck import conform_cli, conforms, need

pytestmark = [pytest.mark.services]


@pytest.fixture(autouse=True)
def _zookeeper():
    need("zookeeper")


def test_pause_past_session_timeout_is_fenced(elect_run):
    o = elect_run("zookeeper", "--clients", "3", "--duration", "7", "--faults", "2.5s pause leader for 3.5s")
    assert o.code == 0, o.err
    s = o.summary
    assert s.stale_accepted == []
    assert len({iv["client"] for iv in s.leaders}) >= 2          # a new leader took over
    paused = next(r["node"] for r in o.records if r["input"]["kind"] == "pause")
    expired = [r for r in o.records if r["node"] == "service" and r["input"]["kind"] == "expire"]
    assert expired and expired[0]["input"]["client"] == paused    # the server expired it
    # the paused leader's prepared write arrived after the new leader's and was rejected
    rejected = [r for r in o.records if r["input"]["kind"] == "reject"]
    assert rejected and rejected[0]["input"]["from"] == paused
    assert "REJECTED write of client" in o.out
    conforms("zookeeper", o.trace)


def test_pause_without_fencing_accepts_a_stale_write(elect_run):
    o = elect_run("zookeeper:no-fencing", "--clients", "3", "--duration", "7",
                  "--faults", "2.5s pause leader for 3.5s")
    assert o.code == 10                                           # the safety property broke
    s = o.summary
    assert s.stale_accepted, "expected the resumed leader's write to be accepted"
    stale = s.stale_accepted[0]
    paused = next(r["node"] for r in o.records if r["input"]["kind"] == "pause")
    assert stale["input"]["from"] == paused
    # two acting leaders: the stale write came after another client was elected with a higher token
    newer = [r for r in o.records[:stale["seq"] - 1] if r["input"]["kind"] == "elected"
             and r["node"] != paused and r["input"]["token"] > stale["input"]["token"]]
    assert newer
    assert s.max_leaders == 2
    assert "STALE WRITE ACCEPTED" in o.out and f"first at record seq {stale['seq']}" in o.out
    # the spec's runtime check names the same record: exit 10, NoStaleWrite, at the stale accept
    code, res = conform_cli("zookeeper", o.trace, "--model", "no_fencing")
    assert code == 10, res
    assert res["property"] == "NoStaleWrite" and res["record"]["seq"] == stale["seq"], res
    assert "Resource.stale_accepted = {4: true}" in res["state"]
    # the newer leader had acted: in the spec's state the resource holds a higher token
    highest = next(line for line in res["state"] if line.startswith("Resource.highest = "))
    assert int(highest.rstrip("}").rsplit(": ", 1)[1]) > stale["input"]["token"], highest
    # and the fenced spec has no step for it: its resource would have rejected the write
    code, res = conform_cli("zookeeper", o.trace)
    assert code == 13 and res["record"]["seq"] == stale["seq"], res


def test_client_kill(elect_run):
    o = elect_run("zookeeper", "--clients", "3", "--duration", "6", "--faults", "2.5s kill leader")
    assert o.code == 0, o.err
    killed = next(r["node"] for r in o.records if r["input"]["kind"] == "kill")
    expire = next(r for r in o.records if r["node"] == "service" and r["input"]["kind"] == "expire")
    assert expire["input"]["client"] == killed
    after = [r for r in o.records[expire["seq"]:] if r["input"]["kind"] == "elected"]
    assert after and after[0]["node"] != killed
    assert o.summary.stale_accepted == []
    conforms("zookeeper", o.trace)


def test_server_leader_kill_three_servers(elect_run):
    o = elect_run("zookeeper", "--servers", "3", "--clients", "3", "--duration", "6",
                  "--faults", "2.5s kill server leader")
    assert o.code == 0, o.err
    kill = next(r for r in o.records if r["input"]["kind"] == "kill_server")
    assert kill["input"]["was_leader"] is True
    assert o.summary.stale_accepted == []
    assert o.summary.accepted > 0
    # elections keep going after the ensemble elected a new server-side leader
    assert any(r["input"]["kind"] == "accept" for r in o.records[kill["seq"]:])
    # a client of the killed server lost its connection: in the spec, a step that only a
    # server_fault (the kill_server record) allows while the session lives
    assert any(r["input"]["kind"] == "suspend" for r in o.records[kill["seq"]:])
    conforms("zookeeper", o.trace)
