"""Leader election with Paxos phase 1 and a leader lease renewed by heartbeats.

Source: L. Lamport, "Paxos Made Simple", ACM SIGACT News 32(4), 2001: phase 1
(prepare/promise) with ballots made unique by pairing a round number with the proposer's
id (section 2.2, "a proposer ... chooses a new proposal number"), and the distinguished
proposer of section 2.4 as the leader. The lease follows the usual practice of
Multi-Paxos deployments (e.g. Chandra, Griesemer, Redstone, "Paxos Made Live", PODC
2007): followers that hear a current leader do not start ballots of their own.

How it works. A ballot is a pair [round, id], ordered lexicographically, so no two nodes
ever use the same ballot. Every node is both proposer and acceptor. When its election
timer fires, a node picks a ballot higher than any it has promised or tried, promises it
to itself (counting itself as one acceptor, without sending itself a message), and sends
Prepare{ballot} to every other node. An acceptor promises a ballot only if it is higher
than every ballot it promised before, and never goes back on a promise: `promised` is
durable. A proposer that holds promises from a quorum (a strict majority) is leader for
its ballot. It sends Heartbeat{ballot} periodically; a node that accepts a heartbeat
(ballot at least its promise) treats the sender as leader and restarts its election timer,
so it starts no ballot while the lease lasts. A node that hears of a higher ballot
steps down; a stale leader learns of the higher ballot from a Nack.

What it guarantees: at most one leader per ballot (OneLeaderPerBallot), and, the heart
of Paxos, the quorums that elected any two leaders intersect (QuorumsIntersect), so a
later leader always meets an acceptor that knows of the earlier one. Two leaders of
different ballots can coexist for a while (the older one has not heard of the newer one
yet); that is expected. What it assumes of the network: nothing for safety (loss,
duplication, reordering, crashes with restart from durable state, partitions); the lease
and liveness need timeouts well above a round trip.

Observed state (trace field order):
    ballot: [int, int]|null    the ballot of this node's latest candidacy, null before it
                               tries one
    promised: [int, int]       durable; the highest ballot promised, [0, 0] at first
    role: str                  "Follower" | "Candidate" | "Leader"
    leader: int|null           the leader this node follows: itself when Leader, the sender
                               of the last heartbeat it accepted; null after (re)start,
                               after promising another node's ballot and after stepping down
    promises: list[int]        sorted ids that promised this node's `ballot` (itself
                               included); [] after (re)start

Durable record (Persist): {"promised": promised}.

Messages:
    {"type": "Prepare", "ballot": [r, i]}                    candidate -> every other node
    {"type": "Promise", "ballot": [r, i]}                    acceptor -> candidate
    {"type": "Nack", "ballot": [r, i], "promised": [r', j]}  acceptor -> sender of a Prepare
                                                             or Heartbeat it refuses
    {"type": "Heartbeat", "ballot": [r, i]}                  leader -> every other node

Timers (the driver picks a duration in [min, max] ms):
    election   [150, 300]  armed exactly when role != Leader (it is also the lease: it is
                           restarted by every accepted heartbeat)
    heartbeat  [0, 0] when a node becomes leader, then [50, 50]; armed exactly when
               role == Leader

Transitions (ballots compare lexicographically; quorum = N // 2 + 1; "step down" means:
role = Follower; leader = null; and if the node was Leader: cancel heartbeat, arm election,
output SteppedDown{"ballot": ballot, "leader": self}):

    start / restart:  promised = durable record ([0, 0] at first); ballot = null;
                      role = Follower; leader = null; promises = []; arm election.
    timer election (only armed when role != Leader):
        ballot = [max(promised[0], ballot[0] if ballot else 0) + 1, self];
        promised = ballot; persist; role = Candidate; leader = null; promises = [self];
        send Prepare{ballot} to every other node; arm election;
        if len(promises) >= quorum (N == 1, or variant minority-quorum): become leader.
    receive Prepare{ballot: b} from p:
        if b > promised: promised = b; persist; if role != Follower: step down;
            leader = null; arm election (reset); send Promise{ballot: b} to p.
        else: send Nack{ballot: b, promised} to p.
    receive Promise{ballot: b} from a:
        if role == Candidate and b == ballot: promises = promises + [a] (sorted, no
            duplicates); if len(promises) >= quorum: become leader.
        otherwise nothing.
    receive Nack{ballot: b, promised: q} from a:
        if role != Follower and b == ballot: step down. Otherwise nothing.
    receive Heartbeat{ballot: b} from l:
        if b >= promised: if b > promised: promised = b; persist.
            if role != Follower: step down.  leader = l; arm election (reset the lease).
        else: send Nack{ballot: b, promised} to l.
    timer heartbeat (only armed when role == Leader):
        send Heartbeat{ballot} to every other node; arm heartbeat [50, 50].
    become leader:
        role = Leader; leader = self; cancel election; arm heartbeat [0, 0];
        output Elected{"ballot": ballot, "leader": self, "quorum": promises}.

Variant (deliberately broken):
    minority-quorum  quorum = N // 2: two quorums need not intersect (for every N >= 2),
                     so two leaders are elected by disjoint sets of acceptors.
"""
from __future__ import annotations

from typing import Any

from reference.node import (CancelTimer, Effect, Node, Output, Persist, Safety, Send,
                            SetTimer)

FOLLOWER, CANDIDATE, LEADER = "Follower", "Candidate", "Leader"
ELECTION = (150, 300)
HEARTBEAT = (50, 50)
FIRST_HEARTBEAT = (0, 0)
ZERO = [0, 0]


class PaxosNode(Node):
    PROTOCOL = "paxos"
    VARIANTS = {
        "": "Paxos phase 1 election with majority quorums and a heartbeat lease",
        "minority-quorum": "quorum = N // 2, which need not intersect",
    }
    EPOCH = "ballot"
    FIELDS = ("ballot", "promised", "role", "leader", "promises")

    def __init__(self, node_id: int, peers: list[int], variant: str = "",
                 durable: dict | None = None, **options: Any) -> None:
        super().__init__(node_id, peers, variant, durable, **options)
        durable = durable or {}
        self.promised: list[int] = list(durable.get("promised", ZERO))
        self.ballot: list[int] | None = None
        self.role = FOLLOWER
        self.leader: int | None = None
        self.promises: list[int] = []
        self.quorum = self.n // 2 if variant == "minority-quorum" else self.n // 2 + 1

    # -- views -----------------------------------------------------------------
    def observed_state(self) -> dict:
        return {"ballot": None if self.ballot is None else list(self.ballot),
                "promised": list(self.promised), "role": self.role,
                "leader": self.leader, "promises": list(self.promises)}

    def is_leader(self) -> bool:
        return self.role == LEADER

    # -- inputs ----------------------------------------------------------------
    def on_start(self) -> list[Effect]:
        self.ballot, self.role, self.leader, self.promises = None, FOLLOWER, None, []
        return [SetTimer("election", *ELECTION)]

    def on_timer(self, name: str) -> list[Effect]:
        if name == "election":
            if self.role == LEADER:
                return []
            last = self.ballot[0] if self.ballot else 0
            self.ballot = [max(self.promised[0], last) + 1, self.id]
            self.promised = list(self.ballot)
            self.role, self.leader, self.promises = CANDIDATE, None, [self.id]
            effects: list[Effect] = [Persist({"promised": list(self.promised)})]
            effects += [Send(n, {"type": "Prepare", "ballot": list(self.ballot)})
                        for n in self.others]
            effects.append(SetTimer("election", *ELECTION))
            if len(self.promises) >= self.quorum:
                effects += self._become_leader()
            return effects
        if name == "heartbeat":
            if self.role != LEADER:
                return []
            effects = [Send(n, {"type": "Heartbeat", "ballot": list(self.ballot)})
                       for n in self.others]
            effects.append(SetTimer("heartbeat", *HEARTBEAT))
            return effects
        raise ValueError(f"paxos node {self.id}: unknown timer {name!r} "
                         f"(known: 'election', 'heartbeat')")

    def on_message(self, src: int, msg: dict) -> list[Effect]:
        kind = msg.get("type") if isinstance(msg, dict) else None
        if kind == "Prepare":
            return self._on_prepare(src, self._ballot(msg, "ballot"))
        if kind == "Promise":
            return self._on_promise(src, self._ballot(msg, "ballot"))
        if kind == "Nack":
            self._ballot(msg, "promised")
            return self._on_nack(self._ballot(msg, "ballot"))
        if kind == "Heartbeat":
            return self._on_heartbeat(src, self._ballot(msg, "ballot"))
        raise self._bad(msg, "unknown type (known: 'Prepare', 'Promise', 'Nack', 'Heartbeat')")

    # -- handlers --------------------------------------------------------------
    def _on_prepare(self, p: int, b: list[int]) -> list[Effect]:
        if b > self.promised:
            self.promised = list(b)
            effects: list[Effect] = [Persist({"promised": list(self.promised)})]
            effects += self._step_down()
            self.leader = None
            effects.append(SetTimer("election", *ELECTION))
            effects.append(Send(p, {"type": "Promise", "ballot": list(b)}))
            return effects
        return [Send(p, {"type": "Nack", "ballot": list(b), "promised": list(self.promised)})]

    def _on_promise(self, a: int, b: list[int]) -> list[Effect]:
        if self.role == CANDIDATE and b == self.ballot:
            if a not in self.promises:
                self.promises = sorted(self.promises + [a])
            if len(self.promises) >= self.quorum:
                return self._become_leader()
        return []

    def _on_nack(self, b: list[int]) -> list[Effect]:
        if self.role != FOLLOWER and b == self.ballot:
            return self._step_down()
        return []

    def _on_heartbeat(self, l: int, b: list[int]) -> list[Effect]:
        if b >= self.promised:
            effects: list[Effect] = []
            if b > self.promised:
                self.promised = list(b)
                effects.append(Persist({"promised": list(self.promised)}))
            effects += self._step_down()
            self.leader = l
            effects.append(SetTimer("election", *ELECTION))
            return effects
        return [Send(l, {"type": "Nack", "ballot": list(b), "promised": list(self.promised)})]

    # -- helpers ---------------------------------------------------------------
    def _ballot(self, msg: dict, name: str) -> list[int]:
        value = self._field(msg, name, list)
        if len(value) != 2 or not all(isinstance(x, int) and not isinstance(x, bool)
                                      for x in value):
            raise self._bad(msg, f"field {name!r} must be a ballot [round, id]")
        return value

    def _step_down(self) -> list[Effect]:
        """role = Follower, leader = null; a leader also swaps its timers and says so."""
        was_leader = self.role == LEADER
        if self.role == FOLLOWER:
            return []
        self.role, self.leader = FOLLOWER, None
        if not was_leader:
            return []
        return [CancelTimer("heartbeat"), SetTimer("election", *ELECTION),
                Output({"event": "SteppedDown", "ballot": list(self.ballot), "leader": self.id})]

    def _become_leader(self) -> list[Effect]:
        self.role, self.leader = LEADER, self.id
        return [CancelTimer("election"), SetTimer("heartbeat", *FIRST_HEARTBEAT),
                Output({"event": "Elected", "ballot": list(self.ballot), "leader": self.id,
                        "quorum": list(self.promises)})]

    # -- trace views -----------------------------------------------------------
    @staticmethod
    def believed_leader(node: int, prev_state: dict | None, prev_leader: int | None,
                        record: dict) -> int | None:
        state = record["state"]
        return None if state is None else state["leader"]

    @classmethod
    def safety(cls, variant: str, nodes: list[int]) -> Safety:
        return QuorumsIntersect(nodes)


class QuorumsIntersect(Safety):
    """Checks two properties of the elections in a run:
    OneLeaderPerBallot  no ballot has two different leaders;
    QuorumsIntersect    the promise quorums of any two elections share an acceptor, and
                        every member of a quorum did promise that ballot (it sent Promise
                        for it to the leader, or is the leader itself)."""

    name = "QuorumsIntersect"

    def __init__(self, nodes: list[int]) -> None:
        super().__init__(nodes)
        self.elected: list[tuple[tuple[int, int], int, frozenset[int]]] = []
        self.promised: set[tuple[int, int, tuple[int, int]]] = set()

    def _check(self, record: dict) -> str | None:
        node = record.get("node")
        for e in record.get("effects") or ():
            if e["kind"] == "send" and e["msg"].get("type") == "Promise":
                self.promised.add((node, e["to"], tuple(e["msg"]["ballot"])))
        for event in self.outputs(record, "Elected"):
            ballot, leader = tuple(event["ballot"]), event["leader"]
            quorum = frozenset(event["quorum"])
            shown = f"({ballot[0]}, {ballot[1]})"
            for a in sorted(quorum - {leader}):
                if (a, leader, ballot) not in self.promised:
                    return (f"{self.name} violated: node {leader} counted node {a} in the "
                            f"quorum of ballot {shown}, but node {a} never promised it")
            for b2, l2, q2 in self.elected:
                if b2 == ballot and l2 != leader:
                    return (f"OneLeaderPerBallot violated: nodes {l2} and {leader} were both "
                            f"elected for ballot {shown}")
                if not (q2 & quorum):
                    return (f"{self.name} violated: node {leader} was elected for ballot "
                            f"{shown} by {sorted(quorum)} and node {l2} for ballot "
                            f"({b2[0]}, {b2[1]}) by {sorted(q2)}: the quorums are disjoint")
            self.elected.append((ballot, leader, quorum))
        return None
