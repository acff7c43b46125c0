"""Checks a merged services trace against the documented record vocabulary and a small
model of the election, the way a spec would: the vocabulary of every lane, the causal
order promised by merge.py, the resource's decisions replayed, and each client's
election replayed against the set of lock nodes / leader keys the trace implies.

`conforms` and `conform_cli` then hold the same trace to the spec itself
(spec/zookeeper.elect, spec/etcd.elect, through their mappings), as `elect conform` does."""
from __future__ import annotations

import io
import json
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest

from checker.cli import main as elect_main
from checker.conform import ConformResult, conform, render_text
from reference.services.servers import missing

SPECS = Path(__file__).resolve().parents[2] / "spec"
# the invariants and transition properties each spec declares: conform evaluates them all
PROPERTIES = {"zookeeper": ["OneLiveLeader", "NoStaleWrite", "LeaderHoldsLowest"],
              "etcd": ["OneLiveLeader", "NoStaleWrite", "LeadsOnlyWithKey"]}

CLIENT_KINDS = {
    "zookeeper": {"start", "connect", "suspend", "reconnect", "session_lost", "campaign", "elected",
                  "write", "write_result", "resign"},
    "etcd": {"start", "lease_grant", "lease_lost", "campaign", "elected", "campaign_stale",
             "write", "write_result", "resign"},
}
FAULT_KINDS = {"pause", "resume", "kill", "restart"}
SERVICE_KINDS = {"zookeeper": {"expire"}, "etcd": {"register", "expire", "cancel"}}
SERVER_FAULTS = {"kill_server", "restart_server", "pause_server", "resume_server"}
STATE_FIELDS = {"zookeeper": {"role", "token", "session", "connected"}, "etcd": {"role", "token", "session"}}


def need(system: str) -> None:
    """Skip the calling test, saying what to install, when `system`'s server is missing."""
    why = missing(system)
    if why:
        pytest.skip(why)


def load(path: str | Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    lines = Path(path).read_text().splitlines()
    header = json.loads(lines[0])
    return header, [json.loads(line) for line in lines[1:]]


def check(header: dict[str, Any], recs: list[dict[str, Any]]) -> dict[str, Any]:
    """Raise AssertionError naming the first record that breaks a rule; return facts."""
    proto = header["protocol"]
    assert header["header"] is True and header["format"] == "elect-services-trace"
    ids = [n["id"] for n in header["nodes"]]
    assert ids[-2:] == ["resource", "service"]
    assert [r["seq"] for r in recs] == list(range(1, len(recs) + 1))
    where = {}
    last_clock: dict[Any, int] = {}
    for r in recs:
        w = f"record seq {r['seq']} ({r['node']} {r['input'].get('kind')})"
        where[r["seq"]] = w
        assert set(r) >= {"seq", "clock", "wall", "node", "input", "state", "effects"}, w
        assert r["node"] in ids, w
        k = r["input"]["kind"]
        if isinstance(r["node"], int):
            assert k in CLIENT_KINDS[proto] | FAULT_KINDS, w
            if k not in FAULT_KINDS:
                assert set(r["state"]) == STATE_FIELDS[proto], w
                assert r["state"]["role"] in ("idle", "candidate", "leader"), w
        elif r["node"] == "resource":
            assert k in ("accept", "reject"), w
            assert set(r["state"]) == {"highest"}, w
        else:
            assert k in SERVICE_KINDS[proto] | SERVER_FAULTS, w
        # a Lamport clock grows along each lane
        assert r["clock"] > last_clock.get(r["node"], 0), w
        last_clock[r["node"]] = r["clock"]

    # causality: write -> decision -> write_result
    seq_of: dict[tuple[str, Any, Any], int] = {}
    for r in recs:
        k = r["input"]["kind"]
        if k in ("write", "write_result"):
            seq_of[(k, r["node"], r["input"]["id"])] = r["seq"]
        elif k in ("accept", "reject"):
            seq_of[("decision", r["input"]["from"], r["input"]["id"])] = r["seq"]
    for (k, c, i), s in seq_of.items():
        if k == "decision":
            assert seq_of[("write", c, i)] < s, where[s]
            if ("write_result", c, i) in seq_of:
                assert s < seq_of[("write_result", c, i)], where[s]

    # the server's order: write positions increase; reads sit between them
    writes = [(r["pos"]["write"], r["seq"]) for r in recs if "write" in r.get("pos", {})]
    assert [p for p, _ in writes] == sorted(p for p, _ in writes), "write positions out of order"
    for r in recs:
        p = r.get("pos", {})
        if "read" in p:
            assert all(s < r["seq"] for q, s in writes if q <= p["read"]), where[r["seq"]]
            assert all(s > r["seq"] for q, s in writes if q > p["read"]), where[r["seq"]]
        if "after" in p:
            assert all(s < r["seq"] for q, s in writes if q <= p["after"]), where[r["seq"]]

    # the resource replayed
    fencing = header["fencing"]
    highest = None
    for r in recs:
        if r["node"] != "resource":
            continue
        inp = r["input"]
        stale = highest is not None and inp["token"] < highest
        assert inp["stale"] == stale, where[r["seq"]]
        assert (r["input"]["kind"] == "accept") == (not (fencing and stale)), where[r["seq"]]
        if inp["kind"] == "accept":
            highest = inp["token"] if highest is None else max(highest, inp["token"])
        assert r["state"]["highest"] == highest, where[r["seq"]]

    # the election replayed: which nodes / keys exist, who may be elected
    holders: dict[int, Any] = {}
    anomalies = []
    for r in recs:
        k, inp, node = r["input"]["kind"], r["input"], r["node"]
        if node == "service" and k in ("expire", "cancel"):
            for t in inp["tokens"]:
                assert t in holders, where[r["seq"]]
                del holders[t]
            assert r["state"]["holders"] == [[t, c] for t, c in sorted(holders.items())], where[r["seq"]]
        elif node == "service" and k == "register":
            holders[inp["token"]] = inp["client"]
            assert r["state"]["holders"] == [[t, c] for t, c in sorted(holders.items())], where[r["seq"]]
        elif isinstance(node, int) and k == "campaign" and proto == "zookeeper":
            holders[inp["token"]] = node
        elif isinstance(node, int) and k == "resign":
            for e in r["effects"]:
                if e["kind"] == "deleted":
                    for t in e["tokens"]:
                        holders.pop(t, None)
        elif isinstance(node, int) and k == "elected":
            if inp["token"] not in holders:
                anomalies.append(r)
            else:
                assert holders[inp["token"]] == node, where[r["seq"]]
                assert min(holders) == inp["token"], where[r["seq"]]
    return {"anomalies": anomalies}


def conforms(system: str, trace: str | Path, model: str | None = None) -> ConformResult:
    """The trace is a behaviour of spec/<system>.elect (under `model`) and every invariant
    held at every record; else fail with conform's own report (the record, the reasons)."""
    res = conform(str(SPECS / f"{system}.elect"), str(trace), model)
    assert res.verdict == "conforms", render_text(res)
    assert res.props == PROPERTIES[system]
    return res


def conform_cli(system: str, trace: str | Path, *argv: str) -> tuple[int, dict[str, Any]]:
    """`elect conform spec/<system>.elect TRACE --json ARGV...` in-process: (exit code, JSON)."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = elect_main(["conform", str(SPECS / f"{system}.elect"), str(trace), "--json", *argv])
    try:
        return code, json.loads(out.getvalue())
    except ValueError:
        raise AssertionError(f"elect conform exited {code} without JSON: {out.getvalue()}{err.getvalue()}") from None
