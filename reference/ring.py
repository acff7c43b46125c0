"""Ring election after Chang and Roberts: the smallest initiator id wins.

Source: E. Chang and R. Roberts, "An improved algorithm for decentralized
extrema-finding in circular configurations of processes", CACM 22(5):281-283, 1979,
in the smallest-id-wins form of the TLA+ model ChangRoberts.tla (tlaplus/Examples,
specifications/chang_roberts), whose variable names this module keeps. The variant
`lcr` is LeLann-Chang-Roberts, where every node initiates (G. LeLann, "Distributed
systems: towards a formal approach", IFIP Congress 1977, with the filtering of Chang and
Roberts).

How it works. Nodes sit on a unidirectional ring: node i sends only to succ(i) = i + 1,
and node N to node 1. Some nodes are initiators (chosen by the driver; all of them in
`lcr`): an initiator starts as a candidate ("cand") and sends its own id around the
ring; every other node starts as "lost". A node that has lost passes every id on. A
candidate that receives an id smaller than its own passes it on and records that it
lost; a larger id it swallows; its own id back means it went round the ring past every
node, so no smaller initiator exists: it has won. The winner then sends Elected{leader}
round the ring once so that every node learns the leader.

What it assumes of the network: a unidirectional ring and messages that are eventually
delivered (for liveness; the order does not matter). Safety (OneWinner: at most one node
ever wins) needs nothing: the smallest initiator never loses, so no other id can pass it,
whatever is lost, duplicated, reordered, crashed or restarted. No state is durable; a
restarted node starts over as in its first start.

Observed state (trace field order):
    state: str          "cand" | "lost" | "won"
    initiator: bool     fixed for the run (an option of the node, picked by the driver)
    leader: int|null    the winner this node has learnt of (itself when it won), else null

Messages:
    {"type": "Election", "id": i}        the id i travelling round the ring
    {"type": "Elected", "leader": l}     the winner's announcement, round the ring once

Timers:
    initiate  [0, 20] ms, armed at (re)start on initiators only; fires once.

Transitions (send means: to succ(self)):
    start / restart:  state = "cand" if initiator else "lost"; leader = null;
                      if initiator: arm initiate.
    timer initiate:   send Election{id: self}.
    receive Election{id: i}:
        if state == "lost": send Election{id: i}                         (pass it on)
        elif i < self: state = "lost"; send Election{id: i}             (record the loss)
        else: swallow it; and if i == self and state != "won":
              state = "won"; leader = self; output Elected{"leader": self};
              send Elected{leader: self}.
        (variant forward-larger: a candidate passes a larger id on instead of
        swallowing it)
    receive Elected{leader: l}:
        if l != self: leader = l; send Elected{leader: l}.
        (l == self: the announcement is back; nothing)

Variants:
    lcr             every node is an initiator (the published LCR algorithm; correct).
    forward-larger  BROKEN: a candidate passes on ids larger than its own, so a larger
                    id can complete the ring too and two nodes win.
"""
from __future__ import annotations

from typing import Any

from reference.node import Effect, LiveRoles, Node, Output, Safety, Send, SetTimer

CAND, LOST, WON = "cand", "lost", "won"
INITIATE = (0, 20)


class RingNode(Node):
    PROTOCOL = "ring"
    VARIANTS = {
        "": "Chang-Roberts: the driver picks the initiators, the smallest one wins",
        "lcr": "LeLann-Chang-Roberts: every node initiates",
        "forward-larger": "candidates pass on larger ids too (two winners)",
    }
    EPOCH = None
    FIELDS = ("state", "initiator", "leader")

    def __init__(self, node_id: int, peers: list[int], variant: str = "",
                 durable: dict | None = None, initiator: bool = True,
                 **options: Any) -> None:
        super().__init__(node_id, peers, variant, durable, **options)
        self.initiator = True if variant == "lcr" else bool(initiator)
        self.state = CAND if self.initiator else LOST
        self.leader: int | None = None
        i = self.nodes.index(self.id)
        self.succ = self.nodes[(i + 1) % len(self.nodes)]

    # -- views -----------------------------------------------------------------
    def observed_state(self) -> dict:
        return {"state": self.state, "initiator": self.initiator, "leader": self.leader}

    def is_leader(self) -> bool:
        return self.state == WON

    @classmethod
    def choose_options(cls, variant: str, nodes: list[int], rng: Any) -> dict[int, dict]:
        if variant == "lcr":
            return {n: {"initiator": True} for n in nodes}
        chosen = [n for n in nodes if rng.random() < 0.5]
        if not chosen:
            chosen = [rng.choice(nodes)]
        return {n: {"initiator": n in chosen} for n in nodes}

    # -- inputs ----------------------------------------------------------------
    def on_start(self) -> list[Effect]:
        self.state = CAND if self.initiator else LOST
        self.leader = None
        return [SetTimer("initiate", *INITIATE)] if self.initiator else []

    def on_timer(self, name: str) -> list[Effect]:
        if name != "initiate":
            raise ValueError(f"ring node {self.id}: unknown timer {name!r} (known: 'initiate')")
        return [Send(self.succ, {"type": "Election", "id": self.id})]

    def on_message(self, src: int, msg: dict) -> list[Effect]:
        kind = msg.get("type") if isinstance(msg, dict) else None
        if kind == "Election":
            return self._on_election(self._field(msg, "id", int))
        if kind == "Elected":
            return self._on_elected(self._field(msg, "leader", int))
        raise self._bad(msg, "unknown type (known: 'Election', 'Elected')")

    def _on_election(self, i: int) -> list[Effect]:
        forward: list[Effect] = [Send(self.succ, {"type": "Election", "id": i})]
        if self.state == LOST:
            return forward
        if i < self.id:
            self.state = LOST
            return forward
        if i == self.id:
            if self.state == WON:
                return []
            self.state, self.leader = WON, self.id
            return [Output({"event": "Elected", "leader": self.id}),
                    Send(self.succ, {"type": "Elected", "leader": self.id})]
        if self.variant == "forward-larger" and self.state == CAND:
            return forward
        return []

    def _on_elected(self, leader: int) -> list[Effect]:
        if leader == self.id:
            return []
        self.leader = leader
        return [Send(self.succ, {"type": "Elected", "leader": leader})]

    # -- trace views -----------------------------------------------------------
    @staticmethod
    def believed_leader(node: int, prev_state: dict | None, prev_leader: int | None,
                        record: dict) -> int | None:
        state = record["state"]
        return None if state is None else state["leader"]

    @classmethod
    def safety(cls, variant: str, nodes: list[int]) -> Safety:
        return OneWinner(nodes)


class OneWinner(Safety):
    """At most one node ever wins (in the whole run), and no two live nodes name
    different leaders."""

    name = "OneWinner"

    def __init__(self, nodes: list[int]) -> None:
        super().__init__(nodes)
        self.winner: int | None = None
        self.live = LiveRoles()

    def _check(self, record: dict) -> str | None:
        for event in self.outputs(record, "Elected"):
            if self.winner is None:
                self.winner = event["leader"]
            elif self.winner != event["leader"]:
                a, b = sorted((self.winner, event["leader"]))
                return f"{self.name} violated: nodes {a} and {b} both won the ring election"
        self.live.observe(record)
        named = sorted({s["leader"] for s in self.live.state.values() if s["leader"] is not None})
        if len(named) > 1:
            return (f"{self.name} violated: live nodes name different leaders "
                    f"{' and '.join(map(str, named))}")
        return None
