"""Fixtures for the reference tests: simulator helpers and a cluster fixture that always
stops what it started and checks that no process and no port is left behind."""
from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import pytest

from reference.drivers.cluster import Cluster

# the test modules import their helpers from simcheck.py, next to this file, whatever
# pytest's import mode
if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie still answers kill(0); it is reaped by then in our case, but be exact
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def udp_port_free(port: int) -> bool:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


@pytest.fixture
def cluster(tmp_path: Path):
    """cluster(algo, nodes, **kw) -> a started Cluster; stopped after the test, even if
    it fails, and then checked: every process it started is gone, every port is free."""
    made: list[Cluster] = []

    def make(algo: str, nodes: int = 5, **kw) -> Cluster:
        c = Cluster(algo, nodes, tmp_path / f"run{len(made)}", lifetime=120, **kw)
        made.append(c)
        c.start()
        return c

    yield make
    for c in made:
        c.stop()
    for c in made:
        left = [pid for pid in c.pids() if pid_alive(pid)]
        assert not left, f"processes left running: {left}"
        ports = sorted(set(c.ports.values()) | {c.control_port})
        bound = [p for p in ports if not udp_port_free(p)]
        assert not bound, f"ports still bound: {bound}"
