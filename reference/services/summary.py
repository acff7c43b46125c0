"""What a merged services trace says: leadership timeline, write counts, the anomalies.

Pure functions over the merged records (see merge.py), used by `elect run` to print and
by the tests to assert. Definitions:

- a *stale write* is a write the resource accepted although it had already accepted a
  higher token (`accept` with `stale: true`);
- a *deposed write* is a write the resource accepted from a client after, earlier in the
  merged order, another client had been elected with a higher token: two leaders acting
  at once (fencing only keeps the resource's history in token order; it cannot stop an
  old leader's write that arrives before the new leader's first one);
- a *campaign anomaly* is an `elected` record whose token the service had already
  deleted (expired or cancelled) earlier in the merged order: etcd 3.4 told the
  contender it won although its key was gone.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Summary:
    leaders: list[dict[str, Any]] = field(default_factory=list)  # client, token, start, end, why
    accepted: int = 0
    rejected: int = 0
    stale_accepted: list[dict[str, Any]] = field(default_factory=list)
    deposed_writes: list[dict[str, Any]] = field(default_factory=list)
    anomalies: list[dict[str, Any]] = field(default_factory=list)
    max_leaders: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"leaders": self.leaders, "writes_accepted": self.accepted, "writes_rejected": self.rejected,
                "stale_writes_accepted": len(self.stale_accepted), "deposed_writes": len(self.deposed_writes),
                "campaign_anomalies": len(self.anomalies), "max_simultaneous_leaders": self.max_leaders}


def summarize(records: list[dict[str, Any]]) -> Summary:
    s = Summary()
    leading: dict[int, dict[str, Any]] = {}
    top_elected = -1
    deleted: set[int] = set()
    for r in records:
        node, inp = r["node"], r["input"]
        kind = inp.get("kind")
        if node == "resource":
            if kind == "accept":
                s.accepted += 1
                if inp.get("stale"):
                    s.stale_accepted.append(r)
                if inp.get("token") is not None and inp["token"] < top_elected:
                    s.deposed_writes.append(r)
            elif kind == "reject":
                s.rejected += 1
            continue
        if node == "service":
            if kind in ("expire", "cancel"):
                deleted.update(inp.get("tokens", []))
            continue
        if not isinstance(node, int):
            continue
        if kind == "elected" and inp.get("token") in deleted:
            s.anomalies.append(r)
        for e in r.get("effects", []):
            if e["kind"] == "became_leader":
                top_elected = max(top_elected, e["token"])
                leading[node] = {"client": node, "token": e["token"], "start": r["wall"], "end": None, "why": None}
            elif e["kind"] == "lost_leadership" and node in leading:
                iv = leading.pop(node)
                iv.update(end=r["wall"], why=kind)
                s.leaders.append(iv)
        if kind == "kill" and node in leading:
            iv = leading.pop(node)
            iv.update(end=r["wall"], why="kill")
            s.leaders.append(iv)
        s.max_leaders = max(s.max_leaders, len(leading))
    for node in sorted(leading):
        s.leaders.append(leading[node])
    s.leaders.sort(key=lambda iv: (iv["start"], iv["client"]))
    return s


_FAULT_WORDS = {"resume": "RESUMED", "kill": "KILLED", "restart": "RESTARTED"}
_SERVER_WORDS = {"kill_server": "killed", "restart_server": "restarted", "pause_server": "paused",
                 "resume_server": "resumed"}


def _who(node: Any) -> str:
    return f"client {node}" if isinstance(node, int) else str(node)


def timeline(records: list[dict[str, Any]]) -> list[str]:
    """One line per leadership-relevant record: elections, losses, faults, expiries,
    rejected and stale writes."""
    lines = []
    for r in records:
        inp, kind = r["input"], r["input"].get("kind")
        eff = {e["kind"]: e for e in r.get("effects", [])}
        text = None
        if "became_leader" in eff:
            text = f"elected, token {eff['became_leader']['token']}"
        elif "lost_leadership" in eff:
            why = {"write_result": "fenced: write rejected"}.get(kind, kind.replace("_", " "))
            text = f"lost leadership ({why}), token {eff['lost_leadership']['token']}"
        elif kind in ("session_lost", "lease_lost", "campaign_stale"):
            text = kind.replace("_", " ") + (f" ({inp['reason']})" if inp.get("reason") else "")
        elif kind == "pause":
            text = f"PAUSED for {inp.get('for', 0):g}s"
        elif kind in _FAULT_WORDS:
            text = _FAULT_WORDS[kind]
        elif kind in _SERVER_WORDS:
            text = f"server {inp['server']} {_SERVER_WORDS[kind]}" + \
                (" (the server-side leader)" if inp.get("was_leader") else "") + \
                (f" for {inp['for']:g}s" if "for" in inp else "")
        elif kind in ("expire", "cancel"):
            what = "session" if str(inp.get("session", "")).startswith("0x") else "lease"
            verb = "expired" if kind == "expire" else "key removed (campaign cancelled)"
            text = f"{_who(inp.get('client'))} {what} {verb}, tokens {inp.get('tokens')}"
        elif r["node"] == "resource" and kind == "reject":
            text = f"REJECTED write of client {inp['from']}, token {inp['token']} < highest {r['state']['highest']}"
        elif r["node"] == "resource" and kind == "accept" and inp.get("stale"):
            text = f"STALE WRITE ACCEPTED from client {inp['from']}, token {inp['token']} " \
                   f"(highest {r['state']['highest']})"
        if text:
            lines.append(f"{r['wall']:8.3f}  {_who(r['node']):<9}  {text}")
    return lines


def render(records: list[dict[str, Any]]) -> list[str]:
    s = summarize(records)
    out = ["leadership timeline:"] + ["  " + line for line in timeline(records)]
    out.append("leaders:")
    for iv in s.leaders:
        end = f"{iv['end']:.3f}" if iv["end"] is not None else "end"
        why = f" ({iv['why'].replace('_', ' ')})" if iv["why"] else ""
        out.append(f"  client {iv['client']}  token {iv['token']}  {iv['start']:.3f} .. {end}{why}")
    out.append(f"writes: {s.accepted} accepted, {s.rejected} rejected, "
               f"{len(s.stale_accepted)} stale accepted; {len(s.deposed_writes)} accepted from a deposed leader")
    out.append(f"most leaders at once: {s.max_leaders}; campaign anomalies: {len(s.anomalies)}")
    return out
