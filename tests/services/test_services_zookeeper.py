"""Real ZooKeeper 3.8 elections under faults (kazoo clients, the fencing resource).

Session timeout 2 s: a leader paused for 3.5 s has its session expired by the server
while it sleeps; on SIGCONT it still delivers the write it had prepared."""
from __future__ import annotations

import pytest

from servicecheck import need

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


def test_client_kill(elect_run):
    o = elect_run("zookeeper", "--clients", "3", "--duration", "6", "--faults", "2.5s kill leader")
    assert o.code == 0, o.err
    killed = next(r["node"] for r in o.records if r["input"]["kind"] == "kill")
    expire = next(r for r in o.records if r["node"] == "service" and r["input"]["kind"] == "expire")
    assert expire["input"]["client"] == killed
    after = [r for r in o.records[expire["seq"]:] if r["input"]["kind"] == "elected"]
    assert after and after[0]["node"] != killed
    assert o.summary.stale_accepted == []


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
