"""The guarded resource (resource.py) in its own process: fencing by token, and the
records it writes."""
from __future__ import annotations

import select
import sys
import time

import pytest

from reference.services import procs
from reference.services.recorder import read_jsonl
from reference.services.resource import ResourceClient

pytestmark = [pytest.mark.network]


@pytest.fixture
def resource(tmp_path):
    started = []

    def start(fencing: bool):
        trace = tmp_path / f"resource-{len(started)}.jsonl"
        argv = [sys.executable, "-m", "reference.services.resource", "--trace", str(trace),
                "--epoch", repr(time.monotonic())] + ([] if fencing else ["--no-fencing"])
        p = procs.spawn("resource", argv, stdout_pipe=True)
        started.append(p)
        assert select.select([p.popen.stdout], [], [], 10)[0]
        port = int(p.popen.stdout.readline())
        return ResourceClient(port), trace, port
    yield start
    for p in started:
        p.kill()
        p.popen.stdout.close()
    assert not [p for p in started if p.alive()]


def test_fencing_rejects_lower_tokens(resource):
    c, trace, port = resource(fencing=True)
    replies = [c.write(1, 5, 1, 1, "a"), c.write(2, 7, 1, 1, "b"), c.write(1, 5, 2, 9, "c"), c.write(2, 7, 2, 3, "d")]
    assert [(r["accepted"], r["highest"]) for r in replies] == [(True, 5), (True, 7), (False, 7), (True, 7)]
    c.close()
    header, recs = read_jsonl(str(trace))
    assert header["node"] == "resource" and header["fencing"] is True
    assert [(r["input"]["kind"], r["input"]["from"], r["input"]["token"], r["input"]["stale"], r["state"]["highest"])
            for r in recs] == [("accept", 1, 5, False, 5), ("accept", 2, 7, False, 7),
                               ("reject", 1, 5, True, 7), ("accept", 2, 7, False, 7)]
    # Lamport clock: past the clock the write carried
    assert recs[2]["clock"] > 9 and replies[2]["clock"] == recs[2]["clock"]
    assert recs[2]["effects"] == [{"kind": "send", "to": 1, "msg": {"type": "WriteResult", "id": 2,
                                                                      "accepted": False, "highest": 7}}]


def test_without_fencing_every_write_is_accepted_and_staleness_recorded(resource):
    c, trace, _ = resource(fencing=False)
    assert [c.write(1, 5, 1, 1, "a")["accepted"], c.write(2, 7, 1, 1, "b")["accepted"],
            c.write(1, 5, 2, 1, "c")["accepted"]] == [True, True, True]
    c.close()
    _h, recs = read_jsonl(str(trace))
    assert [(r["input"]["kind"], r["input"]["stale"]) for r in recs] == [("accept", False), ("accept", False),
                                                                          ("accept", True)]
    assert recs[-1]["state"] == {"highest": 7}


def test_unreachable_resource_is_an_oserror():
    port = procs.free_ports(1)[0]
    with pytest.raises(OSError):
        ResourceClient(port, timeout=0.5).write(1, 1, 1, 1, "x")
