"""Launchers for real ZooKeeper ensembles and etcd clusters of 1 or 3 nodes on 127.0.0.1.

Each server is a child process (see procs.py) with its data under the run's temporary
directory, so killing a server and starting it again keeps its data, as a restarted
machine would. Servers listen on 127.0.0.1 only, on ports picked free at start:

- ZooKeeper 3.8 (Debian's /usr/share/java/zookeeper.jar): `clientPortAddress=127.0.0.1`,
  `admin.enableServer=false` (else every node binds port 8080), distinct client, peer and
  election ports; `tickTime` sets the session timeout bounds (2 to 20 ticks).
  Ready when the four-letter command `srvr` reports a mode (standalone, leader, follower).
- etcd 3.4 (`etcd` on PATH or /usr/bin/etcd): every listen URL on 127.0.0.1. Ready when
  `/health` says so. Leases shorter than 2 s are rounded up to 2 s by etcd itself with the
  default 1 s election timeout.

A cluster knows which of its servers is the server-side leader (`leader()`), which the
fault script's `kill server leader` uses.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import time
import urllib.error
import urllib.request
from pathlib import Path

from .procs import Proc, Processes, free_ports

ZK_JAR = "/usr/share/java/zookeeper.jar"
ZK_LOG_JARS = ["/usr/share/java/slf4j-log4j12.jar", "/usr/share/java/log4j-1.2.jar"]
INSTALL = "apt-get install -y zookeeper etcd-server etcd-client"


class ServerError(Exception):
    """A server that would not start or answer: a one-line reason."""


def etcd_binary() -> str | None:
    return shutil.which("etcd") or (("/usr/bin/etcd") if os.access("/usr/bin/etcd", os.X_OK) else None)


def missing(system: str) -> str | None:
    """A one-line message naming what is missing for `system`, or None when it can run."""
    if system == "zookeeper":
        if not os.path.exists(ZK_JAR):
            return f"ZooKeeper is not installed ({ZK_JAR} is missing); install it with: {INSTALL}"
        if not shutil.which("java"):
            return f"java is not installed (ZooKeeper needs it); install it with: {INSTALL}"
        return None
    if system == "etcd":
        if etcd_binary() is None:
            return f"etcd is not installed (no 'etcd' binary); install it with: {INSTALL}"
        return None
    return f"unknown system '{system}' (expected zookeeper or etcd)"


class Cluster:
    system = "?"

    def __init__(self, n: int, workdir: Path, procs: Processes):
        if n not in (1, 3):
            raise ServerError(f"--servers must be 1 or 3, got {n}")
        self.n = n
        self.workdir = workdir
        self.procs = procs
        self.servers: dict[int, Proc | None] = {i: None for i in range(1, n + 1)}
        self.ports: list[int] = []  # every port this cluster binds

    # -- lifecycle --
    def start(self, timeout: float = 30.0) -> float:
        """Start every server and wait until all serve; returns the seconds it took."""
        t0 = time.monotonic()
        for i in sorted(self.servers):
            self._spawn(i)
        self.wait_ready(sorted(self.servers), timeout)
        return time.monotonic() - t0

    def kill(self, i: int) -> None:
        p = self.servers.get(i)
        if p is not None:
            p.kill()
            self.servers[i] = None

    def restart(self, i: int, wait: bool = False, timeout: float = 30.0) -> None:
        if self.servers.get(i) is not None and self.servers[i].alive():
            return
        self._spawn(i)
        if wait:
            self.wait_ready([i], timeout)

    def alive(self) -> list[int]:
        return [i for i, p in sorted(self.servers.items()) if p is not None and p.alive()]

    def wait_ready(self, ids: list[int], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        pending = list(ids)
        while pending:
            pending = [i for i in pending if not self.ready(i)]
            if not pending:
                return
            for i in pending:
                p = self.servers[i]
                if p is None or not p.alive():
                    raise ServerError(f"{self.system} server {i} exited during start-up; see {p.log if p else '?'}")
            if time.monotonic() > deadline:
                raise ServerError(f"{self.system} server(s) {pending} not ready after {timeout:.0f}s")
            time.sleep(0.05)

    # -- to implement --
    def _spawn(self, i: int) -> None:
        raise NotImplementedError

    def ready(self, i: int) -> bool:
        raise NotImplementedError

    def leader(self) -> int | None:
        raise NotImplementedError

    def endpoints(self) -> list[str]:
        raise NotImplementedError


class ZooKeeperCluster(Cluster):
    system = "zookeeper"

    def __init__(self, n: int, workdir: Path, procs: Processes, tick_ms: int = 500):
        super().__init__(n, workdir, procs)
        self.tick_ms = tick_ms
        ports = free_ports(3 * n)
        self.client_port = {i: ports[3 * (i - 1)] for i in self.servers}
        self.peer_port = {i: ports[3 * (i - 1) + 1] for i in self.servers}
        self.election_port = {i: ports[3 * (i - 1) + 2] for i in self.servers}
        self.ports = ports
        (workdir / "log4j.properties").write_text(
            "log4j.rootLogger=INFO, CONSOLE\n"
            "log4j.appender.CONSOLE=org.apache.log4j.ConsoleAppender\n"
            "log4j.appender.CONSOLE.layout=org.apache.log4j.PatternLayout\n"
            "log4j.appender.CONSOLE.layout.ConversionPattern=%d{ISO8601} %-5p %c{1} - %m%n\n")
        for i in self.servers:
            data = self.data_dir(i)
            data.mkdir(parents=True, exist_ok=True)
            (data / "myid").write_text(f"{i}\n")
            lines = [f"tickTime={tick_ms}", "initLimit=10", "syncLimit=5",
                     f"dataDir={data}", f"clientPort={self.client_port[i]}",
                     "clientPortAddress=127.0.0.1", "admin.enableServer=false",
                     "4lw.commands.whitelist=srvr,ruok", "maxClientCnxns=0",
                     "autopurge.purgeInterval=0"]
            if n > 1:
                lines += [f"server.{j}=127.0.0.1:{self.peer_port[j]}:{self.election_port[j]}"
                          for j in sorted(self.servers)]
            self.cfg(i).write_text("\n".join(lines) + "\n")

    def data_dir(self, i: int) -> Path:
        return self.workdir / f"zk{i}"

    def cfg(self, i: int) -> Path:
        return self.workdir / f"zk{i}.cfg"

    def _spawn(self, i: int) -> None:
        cp = ":".join([ZK_JAR] + ZK_LOG_JARS)
        argv = ["java", "-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-Djava.net.preferIPv4Stack=true",
                f"-Dlog4j.configuration=file:{self.workdir / 'log4j.properties'}",
                "-Dzookeeper.admin.enableServer=false",
                "-cp", cp, "org.apache.zookeeper.server.quorum.QuorumPeerMain", str(self.cfg(i))]
        self.servers[i] = self.procs.spawn(f"zookeeper-{i}", argv, log=self.workdir / f"zk{i}.log")

    def four_letter(self, i: int, cmd: str = "srvr") -> str:
        try:
            with socket.create_connection(("127.0.0.1", self.client_port[i]), timeout=0.5) as s:
                s.sendall(cmd.encode())
                chunks = []
                while True:
                    b = s.recv(4096)
                    if not b:
                        break
                    chunks.append(b)
                return b"".join(chunks).decode(errors="replace")
        except OSError:
            return ""

    def mode(self, i: int) -> str | None:
        for line in self.four_letter(i).splitlines():
            if line.startswith("Mode:"):
                return line.split(":", 1)[1].strip()
        return None

    def ready(self, i: int) -> bool:
        return self.mode(i) is not None

    def leader(self) -> int | None:
        for i in self.alive():
            if self.mode(i) in ("leader", "standalone"):
                return i
        return None

    def endpoints(self) -> list[str]:
        return [f"127.0.0.1:{self.client_port[i]}" for i in sorted(self.servers)]

    def server_logs(self) -> list[Path]:
        return [self.workdir / f"zk{i}.log" for i in sorted(self.servers)]

    def txn_logs(self) -> list[list[Path]]:
        """Per server, its transaction log files in zxid order."""
        out = []
        for i in sorted(self.servers):
            d = self.data_dir(i) / "version-2"
            files = sorted(d.glob("log.*"), key=lambda p: int(p.name.split(".", 1)[1], 16)) if d.exists() else []
            out.append(files)
        return out


class EtcdCluster(Cluster):
    system = "etcd"

    def __init__(self, n: int, workdir: Path, procs: Processes):
        super().__init__(n, workdir, procs)
        ports = free_ports(2 * n)
        self.client_port = {i: ports[2 * (i - 1)] for i in self.servers}
        self.peer_port = {i: ports[2 * (i - 1) + 1] for i in self.servers}
        self.ports = ports
        self.member_ids: dict[int, str] = {}

    def data_dir(self, i: int) -> Path:
        return self.workdir / f"etcd{i}"

    def _spawn(self, i: int) -> None:
        peers = ",".join(f"n{j}=http://127.0.0.1:{self.peer_port[j]}" for j in sorted(self.servers))
        client = f"http://127.0.0.1:{self.client_port[i]}"
        peer = f"http://127.0.0.1:{self.peer_port[i]}"
        argv = [etcd_binary() or "etcd", "--name", f"n{i}", "--data-dir", str(self.data_dir(i)),
                "--listen-client-urls", client, "--advertise-client-urls", client,
                "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                "--initial-cluster", peers, "--initial-cluster-state", "new",
                "--initial-cluster-token", "elect", "--logger", "zap", "--log-outputs", "stderr"]
        self.servers[i] = self.procs.spawn(f"etcd-{i}", argv, log=self.workdir / f"etcd{i}.log")

    def _post(self, i: int, path: str, body: dict, timeout: float = 0.5) -> dict | None:
        req = urllib.request.Request(f"http://127.0.0.1:{self.client_port[i]}{path}",
                                     data=json.dumps(body).encode(), method="POST")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return json.loads(r.read())
        except (OSError, ValueError, urllib.error.URLError):
            return None

    def ready(self, i: int) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.client_port[i]}/health", timeout=0.5) as r:
                return json.loads(r.read()).get("health") == "true"
        except (OSError, ValueError, urllib.error.URLError):
            return False

    def leader(self) -> int | None:
        status = {}
        for i in self.alive():
            st = self._post(i, "/v3/maintenance/status", {})
            if st:
                status[i] = st
        for i, st in sorted(status.items()):
            if st.get("leader") and st.get("leader") == st.get("header", {}).get("member_id"):
                return i
        return None

    def endpoints(self) -> list[str]:
        return [f"http://127.0.0.1:{self.client_port[i]}" for i in sorted(self.servers)]


def make_cluster(system: str, n: int, workdir: Path, procs: Processes, **kw) -> Cluster:
    if system == "zookeeper":
        return ZooKeeperCluster(n, workdir, procs, **kw)
    return EtcdCluster(n, workdir, procs)
