"""Raft leader election: randomized timeouts, RequestVote, durable term and vote.

Source: D. Ongaro and J. Ousterhout, "In Search of an Understandable Consensus
Algorithm", USENIX ATC 2014, section 5.2 (leader election), with the durable state of
Figure 2 (currentTerm, votedFor). Only the election is implemented: the log is left out,
so a candidate's log is always "up to date", and AppendEntries is reduced to an empty
Heartbeat that carries the leader's term and gets no reply.

How it works. Time is divided into terms. A node that hears nothing from a leader for a
randomized election timeout starts a new term, votes for itself and asks every other node
for its vote. A node grants at most one vote per term (its vote is durable, so a restart
cannot make it vote twice) and a candidate that collects votes from a strict majority
becomes leader for that term; since two majorities intersect, a term has at most one
leader (OneLeaderPerTerm). A leader keeps the others from timing out by sending
heartbeats. Any message with a higher term makes the receiver adopt that term and
become a follower.

What it assumes of the network: nothing for safety (messages may be lost, duplicated,
reordered and delayed; nodes may crash and restart with their durable state; partitions
may come and go). Liveness needs the election timeout to be well above a round trip and
the randomized timeouts to spread candidates apart.

Node ids are 1..N; N counts every node, this one included.

Observed state (trace field order):
    term: int             durable; latest term seen (0 at the first start)
    role: str             "Follower" | "Candidate" | "Leader"; "Follower" after (re)start
    voted_for: int|null   durable; whom this node voted for in `term` (itself once it is a
                          candidate), null if nobody
    votes: list[int]      sorted ids that granted this node a vote in its latest
                          candidacy, itself included; set only when a candidacy starts or
                          a vote arrives (stepping down leaves it as it was); [] after
                          (re)start

Durable record (Persist): {"term": term, "voted_for": voted_for}, emitted whenever either
changes (variants below leave a field out).

Messages:
    {"type": "RequestVote", "term": t}               candidate -> every other node
    {"type": "Vote", "term": t, "granted": bool}     reply to a RequestVote
    {"type": "Heartbeat", "term": t}                 leader -> every other node

Timers (the driver picks a duration in [min, max] ms):
    election   [150, 300]  armed exactly when role != Leader
    heartbeat  [0, 0] when a node becomes leader, then [50, 50]; armed exactly when
               role == Leader

Transitions (each is one atomic step; "adopt t" means: term = t; voted_for = null;
role = Follower, and if the node was Leader: cancel heartbeat, arm election, output
SteppedDown{"term": old term, "leader": self}):

    start / restart:
        term, voted_for = durable record (0, null on a first start); role = Follower;
        votes = []; arm election.
    timer election (only armed when role != Leader):
        term += 1; role = Candidate; voted_for = self; votes = [self]; persist;
        send RequestVote{term} to every other node; arm election;
        if 2 * len(votes) > N (only when N == 1): become leader.
    receive RequestVote{term: t} from c:
        if t > term: adopt t.
        grant = (t == term and voted_for in (null, c));
        if grant: voted_for = c; arm election (reset).
        persist if term or voted_for changed; send Vote{term, granted: grant} to c.
    receive Vote{term: t, granted: g} from v:
        if t > term: adopt t; persist.
        elif t == term and role == Candidate and g: votes = votes + [v] (sorted, no
            duplicates); if 2 * len(votes) > N: become leader.
        otherwise nothing.
    receive Heartbeat{term: t} from l:
        if t > term: adopt t; persist.
        elif t == term and role == Candidate: role = Follower.
        then, if t >= term and role != Leader: arm election (reset).
        (a stale heartbeat, t < term, is ignored)
    timer heartbeat (only armed when role == Leader):
        send Heartbeat{term} to every other node; arm heartbeat [50, 50].
    become leader:
        role = Leader; cancel election; arm heartbeat [0, 0];
        output Elected{"term": term, "leader": self}.

Variants (deliberately broken):
    volatile-vote   voted_for is not persisted: a node that restarts in the same term can
                    vote again, so two candidates can each win a majority in one term.
    volatile-term   term is not persisted: a restarted node is back in term 0, adopts the
                    next RequestVote's term and votes in it again.
    double-vote     the vote is granted without checking voted_for.
"""
from __future__ import annotations

from typing import Any

from reference.node import (CancelTimer, Effect, Node, Output, Persist, Safety, Send,
                            SetTimer)

FOLLOWER, CANDIDATE, LEADER = "Follower", "Candidate", "Leader"
ELECTION = (150, 300)
HEARTBEAT = (50, 50)
FIRST_HEARTBEAT = (0, 0)


class RaftNode(Node):
    PROTOCOL = "raft"
    VARIANTS = {
        "": "Raft election as published (durable term and vote)",
        "volatile-vote": "voted_for is not persisted across a restart",
        "volatile-term": "term is not persisted across a restart",
        "double-vote": "a vote is granted without checking voted_for",
    }
    EPOCH = "term"
    FIELDS = ("term", "role", "voted_for", "votes")

    def __init__(self, node_id: int, peers: list[int], variant: str = "",
                 durable: dict | None = None, **options: Any) -> None:
        super().__init__(node_id, peers, variant, durable, **options)
        durable = durable or {}
        self.term: int = int(durable.get("term", 0))
        self.voted_for: int | None = durable.get("voted_for")
        self.role = FOLLOWER
        self.votes: list[int] = []

    # -- views -----------------------------------------------------------------
    def observed_state(self) -> dict:
        return {"term": self.term, "role": self.role, "voted_for": self.voted_for,
                "votes": list(self.votes)}

    def is_leader(self) -> bool:
        return self.role == LEADER

    def durable(self) -> dict:
        record: dict[str, Any] = {}
        if self.variant != "volatile-term":
            record["term"] = self.term
        if self.variant != "volatile-vote":
            record["voted_for"] = self.voted_for
        return record

    # -- inputs ----------------------------------------------------------------
    def on_start(self) -> list[Effect]:
        self.role = FOLLOWER
        self.votes = []
        return [SetTimer("election", *ELECTION)]

    def on_timer(self, name: str) -> list[Effect]:
        if name == "election":
            if self.role == LEADER:
                return []
            self.term += 1
            self.role = CANDIDATE
            self.voted_for = self.id
            self.votes = [self.id]
            effects: list[Effect] = [Persist(self.durable())]
            effects += [Send(n, {"type": "RequestVote", "term": self.term}) for n in self.others]
            effects.append(SetTimer("election", *ELECTION))
            if 2 * len(self.votes) > self.n:
                effects += self._become_leader()
            return effects
        if name == "heartbeat":
            if self.role != LEADER:
                return []
            effects = [Send(n, {"type": "Heartbeat", "term": self.term}) for n in self.others]
            effects.append(SetTimer("heartbeat", *HEARTBEAT))
            return effects
        raise ValueError(f"raft node {self.id}: unknown timer {name!r} "
                         f"(known: 'election', 'heartbeat')")

    def on_message(self, src: int, msg: dict) -> list[Effect]:
        kind = msg.get("type") if isinstance(msg, dict) else None
        if kind == "RequestVote":
            return self._on_request_vote(src, self._field(msg, "term", int))
        if kind == "Vote":
            return self._on_vote(src, self._field(msg, "term", int),
                                 self._field(msg, "granted", bool))
        if kind == "Heartbeat":
            return self._on_heartbeat(src, self._field(msg, "term", int))
        raise self._bad(msg, "unknown type (known: 'RequestVote', 'Vote', 'Heartbeat')")

    # -- handlers --------------------------------------------------------------
    def _on_request_vote(self, c: int, t: int) -> list[Effect]:
        before = (self.term, self.voted_for)
        effects: list[Effect] = []
        if t > self.term:
            effects += self._adopt(t)
        if self.variant == "double-vote":
            grant = t == self.term
        else:
            grant = t == self.term and self.voted_for in (None, c)
        if grant:
            self.voted_for = c
            effects.append(SetTimer("election", *ELECTION))
        if (self.term, self.voted_for) != before:
            effects.insert(0, Persist(self.durable()))
        effects.append(Send(c, {"type": "Vote", "term": self.term, "granted": grant}))
        return effects

    def _on_vote(self, v: int, t: int, granted: bool) -> list[Effect]:
        if t > self.term:
            effects = self._adopt(t)
            return [Persist(self.durable())] + effects
        if t == self.term and self.role == CANDIDATE and granted:
            if v not in self.votes:
                self.votes = sorted(self.votes + [v])
            if 2 * len(self.votes) > self.n:
                return self._become_leader()
        return []

    def _on_heartbeat(self, leader: int, t: int) -> list[Effect]:
        effects: list[Effect] = []
        if t > self.term:
            effects = self._adopt(t)
            effects.insert(0, Persist(self.durable()))
        elif t == self.term and self.role == CANDIDATE:
            self.role = FOLLOWER
        if t >= self.term and self.role != LEADER:
            effects.append(SetTimer("election", *ELECTION))
        return effects

    # -- helpers ---------------------------------------------------------------
    def _adopt(self, t: int) -> list[Effect]:
        old_term, was_leader = self.term, self.role == LEADER
        self.term, self.voted_for, self.role = t, None, FOLLOWER
        if not was_leader:
            return []
        return [CancelTimer("heartbeat"), SetTimer("election", *ELECTION),
                Output({"event": "SteppedDown", "term": old_term, "leader": self.id})]

    def _become_leader(self) -> list[Effect]:
        self.role = LEADER
        return [CancelTimer("election"), SetTimer("heartbeat", *FIRST_HEARTBEAT),
                Output({"event": "Elected", "term": self.term, "leader": self.id})]

    # -- trace views -----------------------------------------------------------
    @staticmethod
    def believed_leader(node: int, prev_state: dict | None, prev_leader: int | None,
                        record: dict) -> int | None:
        state, inp = record["state"], record["input"]
        if state is None:
            return None
        if state["role"] == LEADER:
            return node
        if inp["kind"] == "restart":
            return None
        if (inp["kind"] == "receive" and inp["msg"].get("type") == "Heartbeat"
                and inp["msg"].get("term") == state["term"]):
            return inp["from"]
        if prev_state is not None and prev_state["term"] == state["term"] \
                and prev_leader != node:
            return prev_leader
        return None

    @classmethod
    def safety(cls, variant: str, nodes: list[int]) -> Safety:
        return OneLeaderPerTerm(nodes)


class OneLeaderPerTerm(Safety):
    """No two different nodes are ever elected leader in the same term."""

    name = "OneLeaderPerTerm"

    def __init__(self, nodes: list[int]) -> None:
        super().__init__(nodes)
        self.leaders: dict[int, int] = {}

    def _check(self, record: dict) -> str | None:
        for event in self.outputs(record, "Elected"):
            term, leader = event["term"], event["leader"]
            first = self.leaders.setdefault(term, leader)
            if first != leader:
                return (f"{self.name} violated: nodes {min(first, leader)} and "
                        f"{max(first, leader)} were both elected leader in term {term}")
        return None
