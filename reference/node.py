"""The node protocol: what a reference implementation is, and the records its drivers write.

A node is a pure state machine (sans-IO, as in h11): inputs go in, the node updates its
own fields and returns a list of effects. It never reads a clock, never calls `random`,
never touches a socket. A driver (`drivers/sim.py`, `drivers/net.py`) brings it to life:
it delivers messages, fires timers, crashes and restarts nodes, and carries out effects.

Inputs (one method each; every call is one atomic step):

    on_start()              the node starts, or restarts: the driver builds a fresh node
                            with the durable record it last persisted, then calls this.
                            A start only arms timers; it never sends, so the state after
                            it is the protocol's initial state.
    on_message(src, msg)    a message `msg` (a JSON-able dict with a "type") from `src`.
    on_timer(name)          the timer `name` (armed earlier with SetTimer) went off.

A crash is not an input: the driver drops the node object, its armed timers and its
volatile fields. Only what the node persisted survives.

Effects (in the order the driver must carry them out):

    Persist(durable)        replace the node's durable record by `durable` (every durable
                            field, not a diff). A node emits it before any Send of the same
                            step, so that nothing leaves the node before it is on disk.
    Send(to, msg)           put `msg` in flight to node `to`.
    SetTimer(name, lo, hi)  (re)arm timer `name`, replacing a pending one of that name; the
                            driver picks the duration in [lo, hi] milliseconds with its own
                            seeded RNG (so randomized timeouts stay reproducible). A timer
                            fires at most once per arming.
    CancelTimer(name)       disarm `name` (no-op if it is not armed).
    Output(event)           an event for the outside world, e.g.
                            {"event": "Elected", "term": 3, "leader": 2} or
                            {"event": "SteppedDown", "term": 3, "leader": 2}.

Effects and the dicts in them belong to the driver once returned: a node builds a fresh
message dict for every Send and never mutates one it has handed over.

`observed_state()` returns the fields a trace records, as JSON values in a fixed order.

Protocols are looked up by name with `load("raft:volatile-vote")`; an unknown protocol or
variant raises ValueError naming the known ones.

Trace records (JSONL, the same from every driver), one object per step:

    {"seq": 17, "clock": 9, "wall": 3.214, "node": 2,
     "input": {"kind": "receive", "from": 1, "msg": {...}},
     "state": {...observed_state()...}, "effects": [{"kind": "send", "to": 1, "msg": {...}}]}

Input kinds of node steps: start, receive (from, msg), timer (name), crash, restart. A crash
record carries the state the node had when it went down (a crash changes nothing that is
observed; the restart record shows the fields reset). Network events have "node": null,
"state": null, "effects": [] and the input kinds partition (sides), heal, drop (from, to,
msg, and a "reason": "loss", "partition" or "down") and duplicate (from, to, msg). Effect
records: send (to, msg), set_timer (name, min, max, and "after": the duration the driver
chose, when it runs in time), cancel_timer (name), persist (durable), output (event).
"clock" is a Lamport clock; sorting by (clock, node, seq) respects causality. The first
line of a trace file is a header object {"header": true, "protocol": ..., ...}.
"""
from __future__ import annotations

import importlib
import json
from dataclasses import dataclass
from typing import Any, ClassVar

__all__ = [
    "Send", "SetTimer", "CancelTimer", "Persist", "Output", "Effect", "Node", "Safety",
    "PROTOCOLS", "load", "parse_algo", "effect_json", "make_record", "dumps", "HEADER_KEYS",
]

# ---------------------------------------------------------------------------- effects


@dataclass(frozen=True)
class Send:
    to: int
    msg: dict


@dataclass(frozen=True)
class SetTimer:
    name: str
    lo: int
    hi: int


@dataclass(frozen=True)
class CancelTimer:
    name: str


@dataclass(frozen=True)
class Persist:
    durable: dict


@dataclass(frozen=True)
class Output:
    event: dict


Effect = Send | SetTimer | CancelTimer | Persist | Output


def effect_json(effect: Effect, after: int | None = None) -> dict:
    """The trace form of an effect; `after` is the timer duration a driver chose."""
    if isinstance(effect, Send):
        return {"kind": "send", "to": effect.to, "msg": effect.msg}
    if isinstance(effect, SetTimer):
        out: dict[str, Any] = {"kind": "set_timer", "name": effect.name,
                               "min": effect.lo, "max": effect.hi}
        if after is not None:
            out["after"] = after
        return out
    if isinstance(effect, CancelTimer):
        return {"kind": "cancel_timer", "name": effect.name}
    if isinstance(effect, Persist):
        return {"kind": "persist", "durable": effect.durable}
    if isinstance(effect, Output):
        return {"kind": "output", "event": effect.event}
    raise TypeError(f"not an effect: {effect!r}")


# ---------------------------------------------------------------------------- records

HEADER_KEYS = ("header", "protocol", "variant", "nodes", "driver")


def make_record(seq: int, clock: int, wall: float, node: int | None, input: dict,
                state: dict | None, effects: list[dict]) -> dict:
    """One trace record, keys in the documented order."""
    return {"seq": seq, "clock": clock, "wall": wall, "node": node, "input": input,
            "state": state, "effects": effects}


_ENCODER = json.JSONEncoder(ensure_ascii=True, allow_nan=False)


def dumps(obj: Any) -> str:
    """The one JSON encoding used for trace lines and wire messages (stable, one line)."""
    return _ENCODER.encode(obj)


# ---------------------------------------------------------------------------- nodes


class Node:
    """Base class of the reference nodes; subclasses document their protocol in full.

    Constructed with (node_id, peers, variant, durable, **options): `peers` lists the ids of
    the other nodes (the node's own id is ignored if present; ids are 1..N), `variant`
    selects a deliberately broken version by name ("" is the published algorithm),
    `durable` is the record the node last persisted (None on a first start), and
    `options` are protocol-specific choices a driver makes (ring: `initiator`).
    """

    PROTOCOL: ClassVar[str] = ""
    VARIANTS: ClassVar[dict[str, str]] = {"": "the algorithm as published"}
    #: The field of Elected events that names the term/ballot/epoch, or None.
    EPOCH: ClassVar[str | None] = None
    #: Names of the observed fields, in record order.
    FIELDS: ClassVar[tuple[str, ...]] = ()
    #: What the safety property needs of the network, shown when a run breaks it.
    ASSUMES: ClassVar[str] = ""

    def __init__(self, node_id: int, peers: list[int], variant: str = "",
                 durable: dict | None = None, **options: Any) -> None:
        if variant not in self.VARIANTS:
            known = ", ".join(repr(v) for v in self.VARIANTS)
            raise ValueError(f"unknown variant {variant!r} of {self.PROTOCOL} (known: {known})")
        if not isinstance(node_id, int) or node_id < 1:
            raise ValueError(f"node id must be a positive int, got {node_id!r}")
        self.id = node_id
        self.nodes: list[int] = sorted(set(peers) | {node_id})
        self.others: list[int] = [n for n in self.nodes if n != node_id]
        self.variant = variant

    @property
    def n(self) -> int:
        return len(self.nodes)

    # Inputs --------------------------------------------------------------------
    def on_start(self) -> list[Effect]:
        raise NotImplementedError

    def on_message(self, src: int, msg: dict) -> list[Effect]:
        raise NotImplementedError

    def on_timer(self, name: str) -> list[Effect]:
        raise NotImplementedError

    # Views for drivers ---------------------------------------------------------
    def observed_state(self) -> dict:
        raise NotImplementedError

    def is_leader(self) -> bool:
        raise NotImplementedError

    @classmethod
    def choose_options(cls, variant: str, nodes: list[int], rng: Any) -> dict[int, dict]:
        """Per-node constructor options a driver picks once per run (with its seeded RNG)."""
        return {n: {} for n in nodes}

    @staticmethod
    def believed_leader(node: int, prev_state: dict | None, prev_leader: int | None,
                        record: dict) -> int | None:
        """Who `node` takes to be the leader after `record` (a step of that node), given
        its previous observed state and belief. Used to measure elections from a trace."""
        raise NotImplementedError

    @classmethod
    def safety(cls, variant: str, nodes: list[int]) -> "Safety":
        """The safety monitor of this protocol, fed trace records in order."""
        raise NotImplementedError

    # Helpers for subclasses ----------------------------------------------------
    def _bad(self, msg: Any, why: str) -> ValueError:
        return ValueError(f"{self.PROTOCOL} node {self.id}: bad message {msg!r}: {why}")

    def _field(self, msg: dict, name: str, kind: type | tuple[type, ...]) -> Any:
        if name not in msg:
            raise self._bad(msg, f"missing field {name!r}")
        value = msg[name]
        if isinstance(value, bool) and kind is int:
            raise self._bad(msg, f"field {name!r} must be an int, got {value!r}")
        if not isinstance(value, kind):
            raise self._bad(msg, f"field {name!r} has the wrong type: {value!r}")
        return value


class Safety:
    """A safety property over a run, fed one trace record at a time in run order.

    `observe(record)` returns a one-line description of the first violation it sees (and
    keeps it in `violation`), else None. `name` is the property's name.
    """

    name: str = ""

    def __init__(self, nodes: list[int]) -> None:
        self.nodes = list(nodes)
        self.violation: str | None = None

    def observe(self, record: dict) -> str | None:
        if self.violation is None:
            self.violation = self._check(record)
        return self.violation

    def _check(self, record: dict) -> str | None:
        raise NotImplementedError

    @staticmethod
    def outputs(record: dict, event: str) -> list[dict]:
        return [e["event"] for e in record.get("effects") or ()
                if e.get("kind") == "output" and e["event"].get("event") == event]


class LiveRoles:
    """Helper for state-based monitors: the last observed state of every live node."""

    def __init__(self) -> None:
        self.state: dict[int, dict] = {}

    def observe(self, record: dict) -> None:
        node = record.get("node")
        if node is None:
            return
        if record["input"]["kind"] == "crash":
            self.state.pop(node, None)
        elif record.get("state") is not None:
            self.state[node] = record["state"]


# ---------------------------------------------------------------------------- registry

PROTOCOLS: dict[str, tuple[str, str]] = {
    "bully": ("reference.bully", "BullyNode"),
    "paxos": ("reference.paxos", "PaxosNode"),
    "raft": ("reference.raft", "RaftNode"),
    "ring": ("reference.ring", "RingNode"),
}


#: Other names for a protocol and variant: `lcr` is the ring where every node initiates.
ALIASES: dict[str, str] = {"lcr": "ring:lcr"}


def parse_algo(spec: str) -> tuple[str, str]:
    """"raft:volatile-vote" -> ("raft", "volatile-vote"); "raft" -> ("raft", "");
    "lcr" -> ("ring", "lcr")."""
    spec = ALIASES.get(spec.strip(), spec)
    name, _, variant = spec.partition(":")
    return name.strip(), variant.strip()


def load(spec: str) -> tuple[type[Node], str]:
    """The node class and variant named by "ALGO[:VARIANT]"; ValueError if unknown."""
    name, variant = parse_algo(spec)
    if name not in PROTOCOLS:
        raise ValueError(f"unknown protocol {name!r} (known: {', '.join(sorted(PROTOCOLS))})")
    module, cls_name = PROTOCOLS[name]
    cls = getattr(importlib.import_module(module), cls_name)
    if variant not in cls.VARIANTS:
        known = ", ".join(f"{name}:{v}" if v else name for v in cls.VARIANTS)
        raise ValueError(f"unknown variant {variant!r} of {name} (known: {known})")
    return cls, variant


def timers_for(role_timer: dict[str, str], old_role: str, new_role: str,
               ranges: dict[str, tuple[int, int]]) -> list[Effect]:
    """Effects moving from the timer armed in `old_role` to the one of `new_role`, for
    protocols where each role has exactly one armed timer. Re-arms if they are the same."""
    old, new = role_timer.get(old_role), role_timer.get(new_role)
    effects: list[Effect] = []
    if old is not None and old != new:
        effects.append(CancelTimer(old))
    if new is not None:
        lo, hi = ranges[new]
        effects.append(SetTimer(new, lo, hi))
    return effects
