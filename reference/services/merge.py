"""Merge the per-process record files of a run into one causally ordered trace.

Every process writes its own file (clients, the resource, the harness's fault records),
and the service lane is rebuilt from the servers' history. The merged order is a
topological order of the happens-before edges we know, ties broken by `wall` (the
machine-wide monotonic clock), then by lane and file position, so it is deterministic:

1. program order: within a lane (one `node`), records in `wall` order; a process stamps
   and writes under one lock, and the harness stamps a pause after the kernel shows the
   process stopped and a resume before it sends SIGCONT, so this is the order they
   happened in;
2. messages: a client's `write` before the resource's `accept`/`reject` of the same
   (client, id), and that before the client's `write_result`;
3. the server's order: records with `pos: {"write": n}` (a change the server made at zxid
   or revision n) are chained in order of n; a record with `pos: {"read": n}` (a
   decision based on the server's state as of n) goes after the last write at or before
   n and before the first write after n; `pos: {"after": n}` only the first;
4. learning of a loss: a client's `session_lost`, or `lease_lost` with reason `expired` or
   `not_found`, after the service's `expire` of that session or lease; an etcd
   `campaign` before the service's `register` of its key.

Then `seq` numbers the records from 1 and `clock` is recomputed as a Lamport clock over
these edges (1 + the largest clock of a record's predecessors). Records marked
`_wall_estimate` (the service lane) get their `wall` lowered to the earliest wall of a
record that must follow them. A cycle means the
inputs contradict each other; `MergeError` names records on it.
"""
from __future__ import annotations

import bisect
import heapq
from typing import Any


class MergeError(Exception):
    pass


def _lane_rank(node: Any) -> tuple[int, Any]:
    if isinstance(node, int):
        return (0, node)
    return (1, {"resource": 0, "service": 1}.get(node, 2))


def merge(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`records`: raw records, each with `node`, `wall`, `input`, and optional `pos`;
    `_src` (file number) and `_idx` (position in it) when read from a file."""
    n = len(records)
    for i, r in enumerate(records):
        r.setdefault("_src", 10**6)
        r.setdefault("_idx", i)
    key = [(records[i]["wall"], _lane_rank(records[i]["node"]), records[i]["_src"], records[i]["_idx"], i)
           for i in range(n)]
    succ: list[set[int]] = [set() for _ in range(n)]

    def edge(a: int | None, b: int | None) -> None:
        if a is not None and b is not None and a != b:
            succ[a].add(b)

    # 1. program order per lane
    lanes: dict[Any, list[int]] = {}
    for i, r in enumerate(records):
        lanes.setdefault((_lane_rank(r["node"])), []).append(i)
    for idxs in lanes.values():
        idxs.sort(key=lambda i: key[i])
        for a, b in zip(idxs, idxs[1:]):
            edge(a, b)

    # 2. messages
    writes: dict[tuple[Any, Any], int] = {}
    results: dict[tuple[Any, Any], int] = {}
    decisions: dict[tuple[Any, Any], int] = {}
    for i, r in enumerate(records):
        k = r["input"].get("kind")
        if k == "write" and isinstance(r["node"], int):
            writes[(r["node"], r["input"]["id"])] = i
        elif k == "write_result":
            results[(r["node"], r["input"]["id"])] = i
        elif k in ("accept", "reject") and r["node"] == "resource":
            decisions[(r["input"]["from"], r["input"]["id"])] = i
    for m, d in decisions.items():
        edge(writes.get(m), d)
        edge(d, results.get(m))

    # 3. the server's order
    chain = sorted((r["pos"]["write"], key[i], i) for i, r in enumerate(records) if "write" in r.get("pos", {}))
    for (_, _, a), (_, _, b) in zip(chain, chain[1:]):
        edge(a, b)
    cpos = [c[0] for c in chain]
    for i, r in enumerate(records):
        pos = r.get("pos", {})
        for kind in ("read", "after"):
            if kind in pos:
                p = pos[kind]
                j = bisect.bisect_right(cpos, p)
                if j > 0:
                    edge(chain[j - 1][2], i)
                if kind == "read" and j < len(chain):
                    edge(i, chain[j][2])

    # 4. learning of a loss; etcd campaigns before their registration
    ends: dict[Any, int] = {}
    registers: dict[Any, list[int]] = {}
    for i, r in enumerate(records):
        if r["node"] == "service" and r["input"].get("kind") in ("expire", "cancel"):
            ends.setdefault(r["input"].get("session"), i)
        if r["node"] == "service" and r["input"].get("kind") == "register":
            registers.setdefault(r["input"].get("session"), []).append(i)
    campaigns: dict[Any, list[int]] = {}
    for i, r in enumerate(records):
        k = r["input"].get("kind")
        s = r["input"].get("session")
        if k == "session_lost" or (k == "lease_lost" and r["input"].get("reason") in ("expired", "not_found")):
            edge(ends.get(s), i)
        if k == "campaign" and isinstance(r["node"], int):
            campaigns.setdefault(s, []).append(i)
    for s, regs in registers.items():
        # the campaign request that put the key: the last one for that lease sent before it was seen
        for j in regs:
            before = [i for i in campaigns.get(s, []) if key[i] <= key[j]]
            if before:
                edge(max(before, key=lambda i: key[i]), j)

    # topological order, earliest wall first
    indeg = [0] * n
    for a in range(n):
        for b in succ[a]:
            indeg[b] += 1
    heap = [key[i] for i in range(n) if indeg[i] == 0]
    heapq.heapify(heap)
    order: list[int] = []
    while heap:
        i = heapq.heappop(heap)[-1]
        order.append(i)
        for b in sorted(succ[i]):
            indeg[b] -= 1
            if indeg[b] == 0:
                heapq.heappush(heap, key[b])
    if len(order) < n:
        cyc = _cycle([i for i in range(n) if indeg[i] > 0], succ)
        desc = " -> ".join(f"{records[i]['node']} {records[i]['input'].get('kind')} at {records[i]['wall']}"
                           for i in cyc)
        raise MergeError(f"the records contradict each other (a cycle of happens-before edges): {desc}")

    pred: list[list[int]] = [[] for _ in range(n)]
    for a in range(n):
        for b in succ[a]:
            pred[b].append(a)
    # a wall that is only an estimate (the service's records: the time a server logged or
    # a watcher saw the change) is pulled back to the earliest wall that must follow it
    wall = [r["wall"] for r in records]
    for i in reversed(order):
        if records[i].get("_wall_estimate") and succ[i]:
            wall[i] = min([wall[i]] + [wall[b] for b in succ[i]])
    clock = [0] * n
    out = []
    for seq, i in enumerate(order, 1):
        clock[i] = 1 + max((clock[p] for p in pred[i]), default=0)
        r = records[i]
        rec: dict[str, Any] = {"seq": seq, "clock": clock[i], "wall": wall[i], "node": r["node"],
                               "input": r["input"], "state": r.get("state", {}), "effects": r.get("effects", [])}
        if r.get("pos"):
            rec["pos"] = r["pos"]
        out.append(rec)
    return out


def _cycle(left: list[int], succ: list[set[int]]) -> list[int]:
    """A cycle among the nodes Kahn's algorithm could not order (each has a predecessor
    among them, so walking predecessors must come back)."""
    inside = set(left)
    pred: dict[int, int] = {}
    for a in left:
        for b in succ[a]:
            if b in inside:
                pred.setdefault(b, a)
    seen: dict[int, int] = {}
    i = left[0]
    path: list[int] = []
    while i not in seen:
        seen[i] = len(path)
        path.append(i)
        i = pred[i]
    cyc = path[seen[i]:]
    cyc.reverse()
    return cyc + [cyc[0]]
