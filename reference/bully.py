"""The Bully algorithm: the highest live id becomes coordinator.

Source: H. Garcia-Molina, "Elections in a Distributed Computing System", IEEE
Transactions on Computers C-31(1), 1982, section IV (the Bully Algorithm). The paper
probes the coordinator with "are you there" messages; here the coordinator sends a
periodic Coordinator message instead and the others time out on it, which detects the
same failures with fewer messages.

How it works. A node that suspects there is no coordinator holds an election: it sends
Election to every node with a higher id and waits for an Answer. If no higher node
answers within the answer timeout, it is the highest live node: it becomes coordinator
and announces itself with Coordinator to everyone. If some higher node answers, the
higher node has taken over the election, and this node waits for its Coordinator
message; if that does not come in time it starts again. A node that receives Election
from a lower node answers it and, if it is not already busy electing, holds an election
of its own ("bullies" the lower one). A coordinator that hears from a lower coordinator
tells it who is boss; a lower coordinator that hears from a higher one steps down.

What it assumes of the network: a synchronous system. Messages are never lost, are
delivered within a known bound d, and the answer timeout is longer than a round trip
(2d plus processing); nodes fail only by crashing (fail-stop). Under those assumptions
two live nodes are never coordinator at once (OneLiveLeader). Without them it breaks:
a partition makes both sides elect a coordinator (expected split brain), a lost Answer
or a timeout shorter than a round trip makes a lower node announce itself next to a
live higher one, and a node that restarts and takes over while the old coordinator's
announcement is still on its way is briefly a second coordinator.

Node ids are 1..N and also the priorities: higher id wins.

Observed state (trace field order):
    role: str               "Idle"      not electing: following `coordinator`, or nobody yet
                            "Electing"  sent Election to the higher nodes, awaiting an Answer
                            "Waiting"   a higher node answered, awaiting its Coordinator
                            "Leader"    this node is the coordinator
    coordinator: int|null   the coordinator this node accepted last (itself when Leader),
                            null until it accepts one; volatile

Nothing is durable (a restart starts from role Idle, coordinator null).

Messages:
    {"type": "Election"}                     to every higher node
    {"type": "Answer"}                       reply to an Election from a lower node
    {"type": "Coordinator", "leader": l}     from the coordinator l to every other node
                                             (on taking over, then every heartbeat), or to
                                             one lower node that holds an election or claims
                                             to be coordinator

Timers (the driver picks a duration in [min, max] ms); exactly one is armed per role:
    leader       [250, 400]  role == Idle: no Coordinator heard for that long (also the
                             first election after a start)
    answer       [100, 100]  role == Electing: no higher node answered (the variant
                             short-timeout uses [1, 1], shorter than a round trip)
    coordinator  [300, 300]  role == Waiting: the higher node never announced itself
    heartbeat    [100, 100]  role == Leader: time to announce again

Transitions ("enter R" sets role = R, cancels the timer of the old role and arms the
timer of R; entering the same role re-arms its timer):

    start / restart:  role = Idle; coordinator = null; arm leader.
    hold an election:
        if no node has a higher id: become coordinator.
        else: send Election to every higher node (ascending ids); enter Electing.
        (variant no-answer-wait: send Election to every higher node, then become
        coordinator at once)
    timer leader (Idle):         hold an election.
    timer answer (Electing):     become coordinator.
    timer coordinator (Waiting): hold an election.
    timer heartbeat (Leader):    send Coordinator{leader: self} to every other node;
                                 re-arm heartbeat.
    receive Election from j:
        if j < self: send Answer to j; then
            if role == Idle: hold an election;
            elif role == Leader: send Coordinator{leader: self} to j.
        (if j > self: ignored; a correct node never sends it)
    receive Answer from j:
        if role == Electing and j > self: enter Waiting. Otherwise ignored.
    receive Coordinator{leader: l}:
        if l > self: coordinator = l; if role == Leader: output SteppedDown{"leader": self,
            "new": l}; enter Idle.
        elif l < self: if role == Idle: hold an election;
            elif role == Leader: send Coordinator{leader: self} to l. Otherwise ignored.
        (l == self: ignored)
    become coordinator:
        coordinator = self; send Coordinator{leader: self} to every other node;
        enter Leader; output Elected{"leader": self}.

Variants (deliberately broken):
    no-answer-wait  a node announces itself without waiting for answers from higher nodes.
    short-timeout   the answer timeout is 1 ms, shorter than a round trip: the timing
                    assumption is broken, not the code.
"""
from __future__ import annotations

from typing import Any

from reference.node import Effect, LiveRoles, Node, Output, Safety, Send, timers_for

IDLE, ELECTING, WAITING, LEADER = "Idle", "Electing", "Waiting", "Leader"
ROLE_TIMER = {IDLE: "leader", ELECTING: "answer", WAITING: "coordinator", LEADER: "heartbeat"}
RANGES = {"leader": (250, 400), "answer": (100, 100), "coordinator": (300, 300),
          "heartbeat": (100, 100)}
SHORT_ANSWER = (1, 1)


class BullyNode(Node):
    PROTOCOL = "bully"
    VARIANTS = {
        "": "the Bully algorithm as published (wait for answers from higher nodes)",
        "no-answer-wait": "announce itself without waiting for answers from higher nodes",
        "short-timeout": "answer timeout of 1 ms, shorter than a round trip",
    }
    EPOCH = None
    FIELDS = ("role", "coordinator")
    ASSUMES = ("Bully assumes a synchronous network: no partitions, no lost messages, "
               "timeouts longer than a round trip; split brain outside that is expected")

    def __init__(self, node_id: int, peers: list[int], variant: str = "",
                 durable: dict | None = None, **options: Any) -> None:
        super().__init__(node_id, peers, variant, durable, **options)
        self.role = IDLE
        self.coordinator: int | None = None
        self.ranges = dict(RANGES)
        if variant == "short-timeout":
            self.ranges["answer"] = SHORT_ANSWER
        self.higher = [n for n in self.others if n > self.id]

    # -- views -----------------------------------------------------------------
    def observed_state(self) -> dict:
        return {"role": self.role, "coordinator": self.coordinator}

    def is_leader(self) -> bool:
        return self.role == LEADER

    # -- inputs ----------------------------------------------------------------
    def on_start(self) -> list[Effect]:
        self.role, self.coordinator = IDLE, None
        return self._enter(IDLE, old=None)

    def on_timer(self, name: str) -> list[Effect]:
        if name not in RANGES:
            raise ValueError(f"bully node {self.id}: unknown timer {name!r} "
                             f"(known: {', '.join(repr(t) for t in RANGES)})")
        if ROLE_TIMER[self.role] != name:
            return []  # not armed in this role: a stale firing, ignored
        if name in ("leader", "coordinator"):
            return self._hold_election()
        if name == "answer":
            return self._become_leader()
        effects: list[Effect] = [Send(n, {"type": "Coordinator", "leader": self.id})
                                 for n in self.others]
        return effects + self._enter(LEADER)

    def on_message(self, src: int, msg: dict) -> list[Effect]:
        kind = msg.get("type") if isinstance(msg, dict) else None
        if kind == "Election":
            return self._on_election(src)
        if kind == "Answer":
            return self._on_answer(src)
        if kind == "Coordinator":
            return self._on_coordinator(self._field(msg, "leader", int))
        raise self._bad(msg, "unknown type (known: 'Election', 'Answer', 'Coordinator')")

    # -- handlers --------------------------------------------------------------
    def _on_election(self, j: int) -> list[Effect]:
        if j >= self.id:
            return []
        effects: list[Effect] = [Send(j, {"type": "Answer"})]
        if self.role == IDLE:
            effects += self._hold_election()
        elif self.role == LEADER:
            effects.append(Send(j, {"type": "Coordinator", "leader": self.id}))
        return effects

    def _on_answer(self, j: int) -> list[Effect]:
        if self.role == ELECTING and j > self.id:
            return self._enter(WAITING)
        return []

    def _on_coordinator(self, leader: int) -> list[Effect]:
        if leader > self.id:
            self.coordinator = leader
            effects: list[Effect] = []
            if self.role == LEADER:
                effects.append(Output({"event": "SteppedDown", "leader": self.id,
                                       "new": leader}))
            return self._enter(IDLE) + effects
        if leader < self.id:
            if self.role == IDLE:
                return self._hold_election()
            if self.role == LEADER:
                return [Send(leader, {"type": "Coordinator", "leader": self.id})]
        return []

    # -- helpers ---------------------------------------------------------------
    def _enter(self, role: str, old: str | None | bool = False) -> list[Effect]:
        prev = self.role if old is False else old
        self.role = role
        return timers_for(ROLE_TIMER, prev, role, self.ranges)

    def _hold_election(self) -> list[Effect]:
        if not self.higher:
            return self._become_leader()
        effects: list[Effect] = [Send(n, {"type": "Election"}) for n in self.higher]
        if self.variant == "no-answer-wait":
            return effects + self._become_leader()
        return effects + self._enter(ELECTING)

    def _become_leader(self) -> list[Effect]:
        self.coordinator = self.id
        effects: list[Effect] = [Send(n, {"type": "Coordinator", "leader": self.id})
                                 for n in self.others]
        effects += self._enter(LEADER)
        effects.append(Output({"event": "Elected", "leader": self.id}))
        return effects

    # -- trace views -----------------------------------------------------------
    @staticmethod
    def believed_leader(node: int, prev_state: dict | None, prev_leader: int | None,
                        record: dict) -> int | None:
        state = record["state"]
        return None if state is None else state["coordinator"]

    @classmethod
    def safety(cls, variant: str, nodes: list[int]) -> Safety:
        return OneLiveLeader(nodes)


class OneLiveLeader(Safety):
    """At no point are two live nodes in role Leader at once (Bully has no terms: its
    guarantee is about the present, and holds only under its timing assumptions)."""

    name = "OneLiveLeader"

    def __init__(self, nodes: list[int]) -> None:
        super().__init__(nodes)
        self.live = LiveRoles()

    def _check(self, record: dict) -> str | None:
        self.live.observe(record)
        leaders = sorted(n for n, s in self.live.state.items() if s["role"] == LEADER)
        if len(leaders) > 1:
            return (f"{self.name} violated: nodes {' and '.join(map(str, leaders))} are "
                    f"both Leader at once (split brain)")
        return None
