"""`elect run zookeeper|etcd`: usage errors and missing servers are one line, exit 2;
every process and port is released even when a run fails or is interrupted."""
from __future__ import annotations

import io
import shutil

import pytest

from servicecheck import need
from reference.services import run, servers


def call(*argv):
    out, err = io.StringIO(), io.StringIO()
    code = run.run_main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("argv, message", [
    (["mysql"], "elect run: error: unknown system 'mysql' (expected zookeeper or etcd)\n"),
    (["etcd:fast"], "elect run: error: unknown variant 'fast' for etcd "
                    "(expected one of default, no-fencing, trust-campaign)\n"),
    (["zookeeper:trust-campaign"], "elect run: error: unknown variant 'trust-campaign' for zookeeper "
                                   "(expected one of default, no-fencing)\n"),
    (["etcd", "--servers", "2"], "elect run: error: argument --servers: invalid choice: 2 (choose from 1, 3)\n"),
    (["etcd", "--clients", "0"], "elect run: error: --clients must be at least 1\n"),
    (["etcd", "--faults", "3s pause leader"],
     "elect run: error: fault script: step '3s pause leader': a pause needs 'for TIME', "
     "e.g. '5s pause leader for 4s'\n"),
    (["etcd", "--duration", "5", "--faults", "9s kill leader"],
     "elect run: error: fault script: step '9s kill leader' is at 9s, after the run ends (--duration 5)\n"),
    ([], "elect run: error: the following arguments are required: zookeeper|etcd[:VARIANT]\n"),
])
def test_usage_errors_are_one_line(argv, message):
    code, out, err = call(*argv)
    assert (code, out, err) == (2, "", message)


def test_missing_server_binary(monkeypatch):
    monkeypatch.setattr(servers, "ZK_JAR", "/nonexistent/zookeeper.jar")
    monkeypatch.setattr(servers, "etcd_binary", lambda: None)
    assert call("zookeeper") == (2, "", "elect run: error: ZooKeeper is not installed (/nonexistent/zookeeper.jar "
                                        "is missing); install it with: apt-get install -y zookeeper etcd-server "
                                        "etcd-client\n")
    assert call("etcd:no-fencing") == (2, "", "elect run: error: etcd is not installed (no 'etcd' binary); "
                                              "install it with: apt-get install -y zookeeper etcd-server etcd-client\n")


def test_help():
    assert call("--help")[0] == 0


@pytest.mark.services
@pytest.mark.parametrize("system", ["zookeeper", "etcd"])
def test_nothing_left_behind_when_a_run_fails(system, monkeypatch, no_leftovers, tmp_path):
    """A bug in the middle of a run: the error is reported (exit 3) and the servers, the
    resource and the clients are gone, their ports free (checked by no_leftovers)."""
    need(system)

    def broken(self, f, rec, later):
        raise RuntimeError("injected failure")
    monkeypatch.setattr(run.Run, "do_fault", broken)
    code, out, err = call(system, "--servers", "3" if system == "zookeeper" else "1", "--duration", "2",
                          "--faults", "1s kill leader", "--trace", str(tmp_path / "t.jsonl"))
    assert code == 3
    assert "elect run: internal error, please report it" in err and "RuntimeError: injected failure" in err
    r = run.LAST_RUN[0]
    assert r.cluster is not None and len(r.cluster.ports) == (9 if system == "zookeeper" else 2)
    assert r.procs.procs and not [p for p in r.procs.procs if p.alive()]
    assert f"kept {r.workdir}" in out  # kept for a post-mortem
    shutil.rmtree(r.workdir)


@pytest.mark.services
def test_nothing_left_behind_when_interrupted(monkeypatch, no_leftovers, tmp_path):
    need("etcd")

    def interrupt(self, f, rec, later):
        raise KeyboardInterrupt
    monkeypatch.setattr(run.Run, "do_fault", interrupt)
    code, out, err = call("etcd", "--duration", "2", "--faults", "1s kill leader", "--trace", str(tmp_path / "t.jsonl"))
    assert code == 130
    assert err == "elect run: interrupted; every process it started has been stopped\n"
    assert not (tmp_path / "t.jsonl").exists()
