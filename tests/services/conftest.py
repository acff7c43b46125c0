"""Fixtures for the real-service tests: skip when a server is not installed, run
`elect run` in-process, and after every test check that no process it started and no
port it bound is left behind (killing leftovers, so one failure does not leak into the
next test)."""
from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import Any

import pytest

# the test modules import their helpers from servicecheck.py, next to this file, whatever
# pytest's import mode
if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))

from reference.services import procs, run  # noqa: E402
from reference.services.procs import port_in_use  # noqa: E402
from reference.services.summary import summarize  # noqa: E402
from servicecheck import check, load  # noqa: E402


def _ports_of(r: run.Run | None) -> list[int]:
    if r is None:
        return []
    ports = list(r.cluster.ports) if r.cluster is not None else []
    if getattr(r, "resource_port", None):
        ports.append(r.resource_port)
    return ports


@pytest.fixture
def no_leftovers():
    """Fails the test when a process or a port outlives it (and cleans up either way)."""
    before = set(id(p) for p in procs.REGISTRY)
    run.LAST_RUN[0] = None
    yield
    left = [p for p in procs.leftovers() if id(p) not in before]
    for p in left:
        p.kill()
    ports = [port for port in _ports_of(run.LAST_RUN[0]) if port_in_use(port)]
    assert not left, f"processes left running: {[p.name for p in left]}"
    assert not ports, f"ports still bound: {ports}"


class Outcome:
    def __init__(self, code: int, out: str, err: str, trace: Path):
        self.code, self.out, self.err, self.trace = code, out, err, trace
        self.header: dict[str, Any] = {}
        self.records: list[dict[str, Any]] = []
        if trace.exists():
            self.header, self.records = load(trace)
            self.facts = check(self.header, self.records)
            self.summary = summarize(self.records)

    def kinds(self, node: Any) -> list[str]:
        return [r["input"]["kind"] for r in self.records if r["node"] == node]


@pytest.fixture
def elect_run(no_leftovers, tmp_path):
    """elect_run('zookeeper', '--duration', '6', ...) -> Outcome (trace checked)."""
    def go(system: str, *argv: str) -> Outcome:
        trace = tmp_path / "trace.jsonl"
        out, err = io.StringIO(), io.StringIO()
        code = run.run_main([system, "--trace", str(trace), *argv], out=out, err=err)
        print(out.getvalue())
        print(err.getvalue(), file=sys.stderr)
        return Outcome(code, out.getvalue(), err.getvalue(), trace)
    return go
