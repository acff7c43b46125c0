"""Deterministic simulator: runs reference nodes in one process, every choice explicit.

This file is the largest of the drivers because it holds three things that belong
together: the simulator, the schedule vocabulary it shares with the model checker, and
the two trace analyses every driver reuses (the election meter and, through the
protocols' monitors, safety).

Two modes, one state (nodes, durable records, armed timers, in-flight envelopes, the
partition, who is down):

* timed (`Sim(..., timed=True)`, then `run(until_ms)`): a discrete-event simulation in
  milliseconds. A sent message arrives after a latency drawn from `latency`; on arrival it
  is lost with probability `loss` (or when a partition separates the ends, or the
  destination is down), and with probability `duplicate` a copy stays in flight. Timers
  fire after the duration the RNG picks in the node's [min, max]. Faults come from a
  fault script (`drivers/faults.py`). Ties are broken by creation order, so the same seed
  gives a byte-identical trace.
* untimed (`timed=False`): the model checker's view. Any in-flight envelope may be
  delivered next, any armed timer may fire, and faults are steps too. Steps come from
  an explicit schedule (`step`, `run_schedule`, e.g. a counterexample being replayed),
  from a list of integers that pick among the enabled steps (`run_choices`, for
  Hypothesis), or from the seeded RNG (`run_random`). Envelopes across a partition stay
  in flight until heal; an envelope delivered to a down node is recorded as dropped.
  There is no time: each step advances the simulated clock by 1 ms, so "wall" counts
  steps, and set_timer effects carry no "after".

A schedule step is a JSON object:

    {"kind": "deliver", "from": 1, "to": 2, "msg": {"type": "Vote", ...}}   (or "envelope": id)
    {"kind": "drop", "from": 1, "to": 2, "msg": {...}}
    {"kind": "duplicate", "from": 1, "to": 2, "msg": {...}}
    {"kind": "timer", "node": 3, "name": "election"}
    {"kind": "crash", "node": 2}           {"kind": "restart", "node": 2}
    {"kind": "partition", "sides": [[1, 2], [3]]}    {"kind": "heal"}

`schedule_from_trace(records)` turns a trace back into such a schedule, `replay` runs
one, and `shrink` cuts a violating schedule down to a 1-minimal one. Every node is
started (in id order) when the simulator is built; the clock is the global step counter.
"""
from __future__ import annotations

import heapq
import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from reference.node import (CancelTimer, Effect, Node, Output, Persist, Send, SetTimer,
                            dumps, effect_json, load, make_record, parse_algo)
from reference.drivers import faults as faultlib
from reference.drivers.faults import FaultEvent

__all__ = ["Sim", "Budget", "ScheduleError", "Envelope", "ElectionMeter", "Election",
           "schedule_from_trace", "replay", "shrink", "read_trace", "two_way_splits"]


class ScheduleError(ValueError):
    """A schedule step that is not enabled in the current state (one-line reason)."""


@dataclass
class Envelope:
    id: int
    src: int
    dst: int
    msg: dict
    at: int = 0          # timed mode: arrival time (ms)
    key: str = ""        # identity for matching identical envelopes

    def __post_init__(self) -> None:
        self.key = dumps([self.src, self.dst, self.msg])

    def choice(self, kind: str) -> dict:
        return {"kind": kind, "from": self.src, "to": self.dst, "msg": self.msg}


@dataclass
class Budget:
    """Which faults the untimed exploration (`enabled`, `run_choices`, `run_random`) may
    take, and how many. Explicit `step` calls are not limited by it."""
    crashes: int = 0
    restarts: bool = True
    partitions: int = 0
    drops: int = 0
    duplicates: int = 0

    @classmethod
    def all(cls, n: int = 1) -> "Budget":
        return cls(crashes=n, restarts=True, partitions=n, drops=4 * n, duplicates=2 * n)


@dataclass
class _Timer:
    token: int
    at: int | None


@dataclass
class Election:
    """One election as a trace shows it: from the step that left the cluster without an
    agreed leader (the trigger) to the step after which every live node on the largest
    side believed in the same live leader, and that leader in itself."""
    trigger: str
    start: float                  # seconds (simulated or wall)
    end: float | None = None      # None: no leader by the end of the run
    messages: int = 0             # messages sent from trigger to end, both included
    leader: int | None = None
    epoch: Any = None             # the leader's term / ballot, if the protocol has one

    @property
    def took(self) -> float | None:
        return None if self.end is None else round(self.end - self.start, 3)


class ElectionMeter:
    """Reads trace records in run order and cuts them into elections (see Election)."""

    def __init__(self, cls: type[Node], nodes: list[int]) -> None:
        self.cls = cls
        self.nodes = list(nodes)
        self.live: set[int] = set()
        self.state: dict[int, dict] = {}
        self.belief: dict[int, int | None] = {}
        self.elected: dict[int, dict] = {}
        self.sides: list[list[int]] | None = None
        self.open: Election | None = None
        self.done: list[Election] = []
        self.agreed_leader: int | None = None
        self.last_wall = 0.0

    def observe(self, record: dict) -> None:
        node, inp = record["node"], record["input"]
        kind = inp["kind"]
        was_leader = self.agreed_leader
        if node is None:
            if kind == "partition":
                self.sides = [list(s) for s in inp["sides"]]
            elif kind == "heal":
                self.sides = None
        elif kind == "crash":
            self.live.discard(node)
            self.state.pop(node, None)
            self.belief[node] = None
        else:
            self.live.add(node)
            self.belief[node] = self.cls.believed_leader(
                node, self.state.get(node), self.belief.get(node), record)
            self.state[node] = record["state"]
            for e in record["effects"]:
                if e["kind"] == "output" and e["event"].get("event") == "Elected":
                    self.elected[node] = e["event"]
        sends = sum(1 for e in record["effects"] or () if e["kind"] == "send")
        wall = max(self.last_wall, float(record.get("wall") or 0.0))
        self.last_wall = wall
        leader = self._agreed()
        self.agreed_leader = leader
        if self.open is None and leader is None:
            self.open = Election(self._trigger(record, was_leader), wall)
        if self.open is not None:
            self.open.messages += sends
            if leader is not None:
                self.open.end, self.open.leader = wall, leader
                event = self.elected.get(leader, {})
                self.open.epoch = event.get(self.cls.EPOCH) if self.cls.EPOCH else None
                self.done.append(self.open)
                self.open = None

    def elections(self) -> list[Election]:
        """Finished elections, then the one still open at the end of the run (end None)."""
        return self.done + ([self.open] if self.open is not None else [])

    def _agreed(self) -> int | None:
        if self.sides is None:
            scopes = [self.nodes]
        else:
            biggest = max(len(s) for s in self.sides)
            scopes = [s for s in self.sides if len(s) == biggest]
        for scope in scopes:
            members = [n for n in scope if n in self.live]
            if not members:
                continue
            beliefs = {self.belief.get(n) for n in members}
            if len(beliefs) == 1:
                leader = beliefs.pop()
                if leader is not None and leader in members and self.belief.get(leader) == leader:
                    return leader
        return None

    @staticmethod
    def _trigger(record: dict, was_leader: int | None) -> str:
        node, inp = record["node"], record["input"]
        kind = inp["kind"]
        if kind == "partition":
            return "partition " + "|".join(",".join(map(str, s)) for s in inp["sides"])
        if kind in ("heal", "start"):
            return kind
        if kind == "crash":
            return f"crash of node {node}" + (" (the leader)" if node == was_leader else "")
        if kind == "restart":
            return f"restart of node {node}"
        if kind == "timer":
            return f"timer {inp['name']} at node {node}"
        if kind == "receive":
            return f"{inp['msg'].get('type')} from {inp['from']} at node {node}"
        if kind in ("drop", "duplicate"):
            return f"{kind} of {inp['msg'].get('type')} from {inp['from']} to {inp['to']}"
        return kind


class Sim:
    """A simulated cluster of `nodes` nodes (ids 1..N) running `algo` ("raft",
    "paxos:minority-quorum", ...). See the module docstring for the two modes."""

    def __init__(self, algo: str, nodes: int = 3, *, seed: int = 0, timed: bool = True,
                 latency: tuple[int, int] = (1, 10), loss: float = 0.0,
                 duplicate: float = 0.0, faults: str | list[FaultEvent] | None = None,
                 options: dict[int, dict] | None = None,
                 on_record: Callable[[dict], None] | None = None) -> None:
        self.cls, self.variant = load(algo)
        self.protocol = parse_algo(algo)[0]
        if nodes < 1:
            raise ValueError(f"need at least 1 node, got {nodes}")
        lo, hi = latency
        if not 0 <= lo <= hi:
            raise ValueError(f"bad latency {latency!r}, expected (min, max) with 0 <= min <= max")
        self.ids = list(range(1, nodes + 1))
        self.seed, self.timed, self.latency = seed, timed, (lo, hi)
        self.loss, self.duplicate_p = loss, duplicate
        self.faults_text = faults if isinstance(faults, str) else None
        self.fault_events = (faultlib.parse(faults, nodes) if isinstance(faults, str)
                             else list(faults or []))
        if self.fault_events and not timed:
            raise ValueError("a fault script needs a timed simulation; untimed, take fault "
                             "steps with step() (crash, restart, partition, heal, drop)")
        self.rng = random.Random(seed)
        # options may come from a trace header, whose keys are strings
        self.options = {int(k): dict(v) for k, v in options.items()} if options is not None \
            else self.cls.choose_options(self.variant, self.ids, self.rng)
        self.on_record = on_record

        self.node: dict[int, Node | None] = {n: None for n in self.ids}
        self.durable: dict[int, dict | None] = {n: None for n in self.ids}
        self.timers: dict[int, dict[str, _Timer]] = {n: {} for n in self.ids}
        self.inflight: list[Envelope] = []
        self.sides: list[list[int]] | None = None
        self.paused_until: dict[int, int] = {}
        self.now = 0
        self.clock = 0
        self.lines: list[str] = []
        self.outputs: list[tuple[float, int, dict]] = []
        self.fault_log: list[tuple[float, str]] = []
        self.last_elected: dict[int, int] = {}
        self.used = {"crashes": 0, "partitions": 0, "drops": 0, "duplicates": 0}
        self.safety = self.cls.safety(self.variant, self.ids)
        self.meter = ElectionMeter(self.cls, self.ids)
        self.violation: str | None = None
        self._ids = 0
        self._queue: list[tuple[int, int, str, Any]] = []
        self._order = 0

        for n in self.ids:
            self._start(n, "start")
        for e in self.fault_events:
            self._push(int(round(e.at * 1000)), "fault", e)

    # ------------------------------------------------------------------ public API
    def header(self) -> dict:
        return {"header": True, "protocol": self.protocol, "variant": self.variant,
                "nodes": self.ids, "driver": "sim", "seed": self.seed, "timed": self.timed,
                "latency": list(self.latency), "loss": self.loss,
                "duplicate": self.duplicate_p,
                "faults": self.faults_text if self.faults_text is not None
                else [faultlib.format_event(e) for e in self.fault_events],
                "options": {str(n): self.options.get(n, {}) for n in self.ids}}

    def trace_text(self) -> str:
        return "\n".join([dumps(self.header())] + self.lines) + "\n"

    def write_trace(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.trace_text())
        return path

    def records(self) -> list[dict]:
        return [json.loads(line) for line in self.lines]

    def live(self) -> list[int]:
        return [n for n in self.ids if self.node[n] is not None]

    def leaders(self) -> list[int]:
        return [n for n in self.live() if self.node[n].is_leader()]  # type: ignore[union-attr]

    def current_leader(self) -> int | None:
        """The live leader elected most recently, if any."""
        leaders = self.leaders()
        if not leaders:
            return None
        return max(leaders, key=lambda n: self.last_elected.get(n, -1))

    def elections(self) -> list[Election]:
        return self.meter.elections()

    # -- timed mode
    def run(self, until_ms: int) -> None:
        """Timed mode: process every event due up to `until_ms` (simulated ms)."""
        if not self.timed:
            raise ScheduleError("run() is for timed simulations; use step() or run_choices()")
        while self._queue and self._queue[0][0] <= until_ms:
            at, _, kind, payload = heapq.heappop(self._queue)
            self.now = at
            if kind == "deliver":
                self._arrive(payload)
            elif kind == "timer":
                self._timer_due(*payload)
            elif kind == "fault":
                self._fault(payload)
            elif kind == "resume":
                self.fault_log.append((self.now / 1000, f"node {payload} resumes"))
        self.now = max(self.now, until_ms)

    # -- untimed mode
    def enabled(self, budget: Budget | None = None) -> list[dict]:
        """Untimed mode: every step that may come next, in a fixed order (deliveries,
        timers, then faults within `budget`), identical envelopes listed once."""
        budget = budget or Budget()
        out: list[dict] = []
        seen: set[str] = set()
        distinct: list[Envelope] = []
        for env in self.inflight:
            if env.key not in seen:
                seen.add(env.key)
                distinct.append(env)
        out += [e.choice("deliver") for e in distinct if not self._cut(e.src, e.dst)]
        for n in self.live():
            out += [{"kind": "timer", "node": n, "name": name} for name in sorted(self.timers[n])]
        if self.used["drops"] < budget.drops:
            out += [e.choice("drop") for e in distinct]
        if self.used["duplicates"] < budget.duplicates:
            out += [e.choice("duplicate") for e in distinct]
        if self.used["crashes"] < budget.crashes:
            out += [{"kind": "crash", "node": n} for n in self.live()]
        if budget.restarts:
            out += [{"kind": "restart", "node": n} for n in self.ids if self.node[n] is None]
        if self.sides is None and self.used["partitions"] < budget.partitions:
            out += [{"kind": "partition", "sides": s} for s in two_way_splits(self.ids)]
        if self.sides is not None:
            out.append({"kind": "heal"})
        return out

    def step(self, choice: dict) -> None:
        """Untimed mode: take one schedule step; ScheduleError if it is not enabled."""
        if self.timed:
            raise ScheduleError("step() is for untimed simulations (Sim(..., timed=False))")
        if not isinstance(choice, dict) or "kind" not in choice:
            raise ScheduleError(f"a schedule step must be an object with a 'kind', got {choice!r}")
        kind = choice["kind"]
        self.now += 1
        if kind in ("deliver", "drop", "duplicate"):
            env = self._find(choice)
            if kind == "deliver":
                if self._cut(env.src, env.dst):
                    raise ScheduleError(f"cannot deliver {_show(env)}: the partition "
                                        f"{_sides(self.sides)} separates {env.src} and {env.dst}")
                self.inflight.remove(env)
                if self.node[env.dst] is None:
                    self._net_record("drop", env, reason="down")
                else:
                    self._receive(env)
            elif kind == "drop":
                self.inflight.remove(env)
                self.used["drops"] += 1
                self._net_record("drop", env, reason="loss")
            else:
                self.used["duplicates"] += 1
                self._net_record("duplicate", env)
                self.inflight.append(Envelope(self._next(), env.src, env.dst, env.msg))
        elif kind == "timer":
            n, name = self._node_arg(choice, up=True), choice.get("name")
            if name not in self.timers[n]:
                armed = ", ".join(repr(t) for t in sorted(self.timers[n])) or "none"
                raise ScheduleError(f"timer {name!r} is not armed at node {n} (armed: {armed})")
            del self.timers[n][name]
            self._fire(n, name)
        elif kind == "crash":
            self._crash(self._node_arg(choice, up=True))
        elif kind == "restart":
            self._restart(self._node_arg(choice, up=False))
        elif kind == "partition":
            self._partition(self._check_sides(choice.get("sides")))
        elif kind == "heal":
            if self.sides is None:
                raise ScheduleError("cannot heal: there is no partition")
            self._heal()
        else:
            raise ScheduleError(f"unknown step kind {kind!r} (known: deliver, drop, duplicate, "
                                f"timer, crash, restart, partition, heal)")

    def run_schedule(self, schedule: list[dict]) -> None:
        for i, choice in enumerate(schedule, start=1):
            try:
                self.step(choice)
            except ScheduleError as e:
                raise ScheduleError(f"step {i}: {e}") from None

    WEIGHTS = {"deliver": 8.0, "timer": 1.0, "drop": 0.5, "duplicate": 0.3, "crash": 0.3,
               "restart": 3.0, "partition": 0.3, "heal": 0.5}
    PICK_RANGE = 1 << 16

    def run_choices(self, picks: list[int], budget: Budget | None = None,
                    weights: dict[str, float] | None = None,
                    stop_on_violation: bool = True) -> list[dict]:
        """Untimed mode: one step per integer, chosen among `enabled(budget)`. Without
        `weights` the integer i takes enabled()[i % len(enabled())]; with weights (per step
        kind, e.g. Sim.WEIGHTS) it is read as the fraction i / PICK_RANGE of the total
        weight. Stops early when nothing is enabled (or at a violation). Returns the steps
        taken: a schedule that replays the run."""
        taken = []
        for i in picks:
            if stop_on_violation and self.violation:
                break
            options = self.enabled(budget)
            if not options:
                break
            if weights is None:
                choice = options[i % len(options)]
            else:
                choice = _weighted(options, weights, (i % self.PICK_RANGE) / self.PICK_RANGE)
            self.step(choice)
            taken.append(choice)
        return taken

    def run_random(self, steps: int, budget: Budget | None = None,
                   weights: dict[str, float] | None = None,
                   stop_on_violation: bool = True) -> list[dict]:
        """Untimed mode: `steps` steps picked by the seeded RNG with `weights` per step
        kind (default Sim.WEIGHTS: deliveries favoured). Returns the steps taken."""
        weights = weights or self.WEIGHTS
        taken = []
        for _ in range(steps):
            if stop_on_violation and self.violation:
                break
            options = self.enabled(budget)
            if not options:
                break
            choice = _weighted(options, weights, self.rng.random())
            self.step(choice)
            taken.append(choice)
        return taken

    # ------------------------------------------------------------------ node steps
    def _start(self, n: int, kind: str) -> None:
        others = [m for m in self.ids if m != n]
        durable = json.loads(dumps(self.durable[n])) if self.durable[n] is not None else None
        node = self.cls(n, others, self.variant, durable, **self.options.get(n, {}))
        self.node[n] = node
        self.timers[n] = {}
        self._node_step(n, {"kind": kind}, node.on_start())

    def _receive(self, env: Envelope) -> None:
        node = self.node[env.dst]
        assert node is not None
        self._node_step(env.dst, {"kind": "receive", "from": env.src, "msg": env.msg},
                        node.on_message(env.src, env.msg))

    def _fire(self, n: int, name: str) -> None:
        node = self.node[n]
        assert node is not None
        self._node_step(n, {"kind": "timer", "name": name}, node.on_timer(name))

    def _crash(self, n: int) -> None:
        node = self.node[n]
        assert node is not None
        self.used["crashes"] += 1
        state = node.observed_state()
        self.node[n] = None
        self.timers[n] = {}
        self.paused_until.pop(n, None)
        self._emit(n, {"kind": "crash"}, state, [])

    def _restart(self, n: int) -> None:
        self._start(n, "restart")

    def _node_step(self, n: int, inp: dict, effects: list[Effect]) -> None:
        out: list[dict] = []
        for e in effects:
            if isinstance(e, Send):
                if e.to not in self.node:
                    raise ValueError(f"node {n} sent to unknown node {e.to}")
                env = Envelope(self._next(), n, e.to, e.msg)
                self.inflight.append(env)
                if self.timed:
                    env.at = self.now + self.rng.randint(*self.latency)
                    self._push(env.at, "deliver", env)
                out.append(effect_json(e))
            elif isinstance(e, SetTimer):
                token = self._next()
                after = self.rng.randint(e.lo, e.hi) if self.timed else None
                at = self.now + after if after is not None else None
                self.timers[n][e.name] = _Timer(token, at)
                if at is not None:
                    self._push(at, "timer", (n, e.name, token))
                out.append(effect_json(e, after))
            elif isinstance(e, CancelTimer):
                self.timers[n].pop(e.name, None)
                out.append(effect_json(e))
            elif isinstance(e, Persist):
                self.durable[n] = json.loads(dumps(e.durable))
                out.append(effect_json(e))
            elif isinstance(e, Output):
                out.append(effect_json(e))
                self.outputs.append((self.now / 1000, n, e.event))
                if e.event.get("event") == "Elected":
                    self.last_elected[n] = self.clock + 1
            else:
                raise TypeError(f"node {n} returned a non-effect {e!r}")
        node = self.node[n]
        assert node is not None
        self._emit(n, inp, node.observed_state(), out)

    def _emit(self, n: int | None, inp: dict, state: dict | None, effects: list[dict]) -> None:
        self.clock += 1
        record = make_record(self.clock, self.clock, round(self.now / 1000, 3), n, inp,
                             state, effects)
        self.lines.append(dumps(record))
        if self.safety.observe(record) and self.violation is None:
            self.violation = self.safety.violation
        self.meter.observe(record)
        if self.on_record is not None:
            self.on_record(record)

    # ------------------------------------------------------------------ network steps
    def _net_record(self, kind: str, env: Envelope, reason: str | None = None) -> None:
        inp: dict[str, Any] = {"kind": kind, "from": env.src, "to": env.dst, "msg": env.msg}
        if reason is not None:
            inp["reason"] = reason
        self._emit(None, inp, None, [])

    def _partition(self, sides: list[list[int]]) -> None:
        self.used["partitions"] += 1
        self.sides = sides
        self._emit(None, {"kind": "partition", "sides": sides}, None, [])

    def _heal(self) -> None:
        self.sides = None
        self._emit(None, {"kind": "heal"}, None, [])

    def _cut(self, a: int, b: int) -> bool:
        if self.sides is None:
            return False
        return not any(a in s and b in s for s in self.sides)

    # ------------------------------------------------------------------ timed events
    def _push(self, at: int, kind: str, payload: Any) -> None:
        self._order += 1
        heapq.heappush(self._queue, (at, self._order, kind, payload))

    def _next(self) -> int:
        self._ids += 1
        return self._ids

    def _arrive(self, env: Envelope) -> None:
        if env not in self.inflight:
            return
        if self.paused_until.get(env.dst, -1) > self.now:
            self._push(self.paused_until[env.dst], "deliver", env)
            return
        self.inflight.remove(env)
        if self._cut(env.src, env.dst):
            self._net_record("drop", env, reason="partition")
        elif self.node[env.dst] is None:
            self._net_record("drop", env, reason="down")
        elif self.loss > 0 and self.rng.random() < self.loss:
            self._net_record("drop", env, reason="loss")
        else:
            if self.duplicate_p > 0 and self.rng.random() < self.duplicate_p:
                self._net_record("duplicate", env)
                copy = Envelope(self._next(), env.src, env.dst, env.msg,
                                self.now + self.rng.randint(*self.latency))
                self.inflight.append(copy)
                self._push(copy.at, "deliver", copy)
            self._receive(env)

    def _timer_due(self, n: int, name: str, token: int) -> None:
        timer = self.timers[n].get(name)
        if self.node[n] is None or timer is None or timer.token != token:
            return
        if self.paused_until.get(n, -1) > self.now:
            self._push(self.paused_until[n], "timer", (n, name, token))
            return
        del self.timers[n][name]
        self._fire(n, name)

    def _fault(self, e: FaultEvent) -> None:
        t = self.now / 1000
        target = e.target
        if target == "leader":
            target = self.current_leader()
            if target is None:
                self.fault_log.append((t, f"{e.action} leader: no leader, skipped"))
                return
        what = f"{e.action} {e.target}" + (f" (node {target})" if e.target == "leader" else "")
        if e.action == "kill":
            if self.node[target] is None:
                self.fault_log.append((t, f"kill {target}: already down, skipped"))
                return
            self._crash(target)
        elif e.action == "restart":
            down = [n for n in self.ids if self.node[n] is None]
            todo = down if target == "all" else [target] if target in down else []
            if not todo:
                self.fault_log.append((t, f"restart {target}: not down, skipped"))
                return
            for n in todo:
                self._restart(n)
            what = f"restart {','.join(map(str, todo))}"
        elif e.action == "pause":
            end = self.now + int(round((e.duration or 0) * 1000))
            self.paused_until[target] = end
            self._push(end, "resume", target)
            what += f" for {e.duration:g}s"
        elif e.action == "partition":
            self._partition([list(s) for s in e.sides or ()])
            what = "partition " + _sides(self.sides)
        elif e.action == "isolate":
            self._partition([[target], [n for n in self.ids if n != target]])
            what += f": {_sides(self.sides)}"
        elif e.action == "heal":
            if self.sides is None:
                self.fault_log.append((t, "heal: no partition, skipped"))
                return
            self._heal()
            what = "heal"
        self.fault_log.append((t, what))

    # ------------------------------------------------------------------ helpers
    def _find(self, choice: dict) -> Envelope:
        if "envelope" in choice:
            for env in self.inflight:
                if env.id == choice["envelope"]:
                    return env
            raise ScheduleError(f"no envelope {choice['envelope']!r} in flight")
        for env in self.inflight:
            if env.src == choice.get("from") and env.dst == choice.get("to") \
                    and env.msg == choice.get("msg"):
                return env
        wanted = f"{_msg(choice.get('msg'))} from {choice.get('from')} to {choice.get('to')}"
        flying = "; ".join(_show(e) for e in self.inflight[:8]) or "nothing"
        more = f" and {len(self.inflight) - 8} more" if len(self.inflight) > 8 else ""
        raise ScheduleError(f"no message {wanted} in flight (in flight: {flying}{more})")

    def _node_arg(self, choice: dict, up: bool) -> int:
        n = choice.get("node")
        if n not in self.node:
            raise ScheduleError(f"no node {n!r} (nodes are 1..{len(self.ids)})")
        if up and self.node[n] is None:
            raise ScheduleError(f"node {n} is down")
        if not up and self.node[n] is not None:
            raise ScheduleError(f"node {n} is not down")
        return n

    def _check_sides(self, sides: Any) -> list[list[int]]:
        ok = isinstance(sides, list) and len(sides) >= 2 and all(
            isinstance(s, list) and s for s in sides)
        flat = sorted(n for s in sides for n in s) if ok else []
        if not ok or flat != self.ids:
            raise ScheduleError(f"bad partition sides {sides!r}: every node 1..{len(self.ids)} "
                                f"must be on exactly one of two or more non-empty sides")
        return [sorted(s) for s in sides]


def _weighted(options: list[dict], weights: dict[str, float], u: float) -> dict:
    ws = [weights.get(c["kind"], 1.0) for c in options]
    x = u * sum(ws)
    for choice, w in zip(options, ws):
        x -= w
        if x < 0:
            return choice
    return options[-1]


def two_way_splits(ids: list[int]) -> list[list[list[int]]]:
    """Every split of `ids` into two non-empty sides, the side of ids[0] first."""
    first, rest = ids[0], ids[1:]
    out = []
    for mask in range(2 ** len(rest) - 1):
        a = [first] + [n for i, n in enumerate(rest) if mask >> i & 1]
        b = [n for i, n in enumerate(rest) if not mask >> i & 1]
        out.append([a, b])
    return out


def schedule_from_trace(records: list[dict]) -> list[dict]:
    """The untimed schedule that replays a trace (start records and the header skipped)."""
    out: list[dict] = []
    for r in records:
        if r.get("header"):
            continue
        inp, node = r["input"], r["node"]
        kind = inp["kind"]
        if kind == "receive":
            out.append({"kind": "deliver", "from": inp["from"], "to": node, "msg": inp["msg"]})
        elif kind == "drop" and inp.get("reason") == "down":
            out.append({"kind": "deliver", "from": inp["from"], "to": inp["to"], "msg": inp["msg"]})
        elif kind in ("drop", "duplicate"):
            out.append({"kind": kind, "from": inp["from"], "to": inp["to"], "msg": inp["msg"]})
        elif kind == "timer":
            out.append({"kind": "timer", "node": node, "name": inp["name"]})
        elif kind in ("crash", "restart"):
            out.append({"kind": kind, "node": node})
        elif kind == "partition":
            out.append({"kind": "partition", "sides": inp["sides"]})
        elif kind == "heal":
            out.append({"kind": "heal"})
    return out


def replay(algo: str, nodes: int, schedule: list[dict],
           options: dict[int, dict] | None = None) -> Sim:
    """A fresh untimed simulation driven through `schedule` (ScheduleError if a step is
    not enabled). Pass the `options` of the run that produced the schedule (ring)."""
    sim = Sim(algo, nodes, timed=False, options=options)
    sim.run_schedule(schedule)
    return sim


def shrink(algo: str, nodes: int, schedule: list[dict],
           options: dict[int, dict] | None = None) -> list[dict]:
    """A shorter schedule that still replays and still breaks the safety property:
    cut everything after the violation, then drop chunks and single steps greedily while
    the rest stays valid and still violates (a 1-minimal result, not always the shortest)."""
    def bad(steps: list[dict]) -> int | None:
        try:
            sim = Sim(algo, nodes, timed=False, options=options)
            for i, choice in enumerate(steps):
                sim.step(choice)
                if sim.violation:
                    return i + 1
        except ScheduleError:
            return None
        return None

    cut = bad(schedule)
    if cut is None:
        raise ValueError("the schedule does not break the safety property")
    best = schedule[:cut]
    size = max(1, len(best) // 2)
    while size >= 1:
        i, changed = 0, False
        while i < len(best):
            trial = best[:i] + best[i + size:]
            n = bad(trial) if trial else None
            if n is not None:
                best, changed = trial[:n], True
            else:
                i += size
        if not changed:
            size //= 2
    return best


def read_trace(path: str | Path) -> tuple[dict | None, list[dict]]:
    """(header, records) of a JSONL trace file."""
    header, records = None, []
    for line in Path(path).read_text().splitlines():
        if not line.strip():
            continue
        obj = json.loads(line)
        if obj.get("header"):
            header = obj
        else:
            records.append(obj)
    return header, records


def _msg(msg: Any) -> str:
    if not isinstance(msg, dict):
        return repr(msg)
    fields = ", ".join(f"{k}: {json.dumps(v)}" for k, v in msg.items() if k != "type")
    return f"{msg.get('type')}{{{fields}}}"


def _show(env: Envelope) -> str:
    return f"{_msg(env.msg)} from {env.src} to {env.dst}"


def _sides(sides: list[list[int]] | None) -> str:
    return "|".join(",".join(map(str, s)) for s in sides or ())
