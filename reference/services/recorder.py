"""JSONL trace records with a Lamport clock, written by every process of a run.

One `Recorder` per process. Each call to `record` is one step of that process: it ticks
the Lamport clock (taking the maximum with a clock received in a message, if any), stamps
`wall` (seconds on the machine-wide monotonic clock since the run's epoch, so records of
different processes on this machine compare), and appends one JSON line with a single
`write(2)` on an O_APPEND descriptor, so a process killed with SIGKILL leaves whole lines
(the reader drops a torn last line anyway).

The clock, the stamp and the write happen under one lock, which is also the lock the
caller holds while changing its state, so a file lists a process's steps in the order
they happened and `wall` never decreases within a file.

Record shape (see README.md for the vocabulary):
    {"seq": 3, "clock": 7, "wall": 1.25, "node": 2, "input": {"kind": ...},
     "state": {...}, "effects": [...], "pos": {"write": 12}}
The first line of a file is a header: {"header": true, "source": ..., "node": ..., ...}.
"""
from __future__ import annotations

import json
import os
import threading
import time
from typing import Any


def dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(", ", ": "), sort_keys=False)


class Recorder:
    def __init__(self, path: str, node: int | str, epoch: float, header: dict[str, Any] | None = None):
        self.path = path
        self.node = node
        self.epoch = epoch
        self.lock = threading.RLock()
        self.clock = 0
        self.seq = 0
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        head = {"header": True, "node": node, "pid": os.getpid()}
        head.update(header or {})
        self._write(head)

    def now(self) -> float:
        return round(time.monotonic() - self.epoch, 6)

    def _write(self, obj: dict[str, Any]) -> None:
        os.write(self.fd, (dumps(obj) + "\n").encode())

    def record(self, input: dict[str, Any], state: dict[str, Any], effects: list[dict[str, Any]] | None = None,
               pos: dict[str, int] | None = None, recv_clock: int | None = None,
               node: int | str | None = None) -> dict[str, Any]:
        with self.lock:
            self.clock = max(self.clock, recv_clock or 0) + 1
            self.seq += 1
            rec: dict[str, Any] = {"seq": self.seq, "clock": self.clock, "wall": self.now(),
                                   "node": self.node if node is None else node,
                                   "input": input, "state": state, "effects": list(effects or [])}
            if pos:
                rec["pos"] = pos
            self._write(rec)
            return rec

    def close(self) -> None:
        try:
            os.close(self.fd)
        except OSError:
            pass


def read_jsonl(path: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """(header, records) of one raw file; a torn last line (a killed writer) is dropped."""
    header = None
    records = []
    try:
        with open(path) as f:
            lines = f.read().split("\n")
    except FileNotFoundError:
        return None, []
    for line in lines:
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            continue
        if obj.get("header"):
            header = obj
        else:
            records.append(obj)
    return header, records
