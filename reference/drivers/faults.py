"""Fault scripts: a small text format for the faults of a run, parsed into events.

A script is a list of events separated by ';' (or newlines), each `TIME ACTION`:

    2s kill leader; 4s partition 1,2|3,4,5; 7s heal; 8s pause 3 for 3s; 9s restart 1

TIME is a number with a unit, `s` or `ms` (`2s`, `1.5s`, `500ms`), counted from the start
of the run. A NODE is a node id, or `leader` (the current leader when the event happens;
if there is none the event is skipped and the run says so). Actions:

    kill NODE               crash the node (SIGKILL on the network; durable state kept)
    restart NODE|all        restart a crashed node (all: every crashed node)
    pause NODE for TIME     freeze the node (SIGSTOP), then let it go on (SIGCONT)
    partition A|B[|C...]    split the nodes into sides; each side is a comma-separated
                            list of ids, every node on exactly one side
    isolate NODE            partition NODE | everyone else
    heal                    remove the partition

`parse(script, nodes=N)` returns the events in time order (stable for equal times) and
raises ValueError with a one-line reason naming the bad event. With `nodes` given, ids
are checked against 1..N and partitions must cover every node.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

ACTIONS = ("kill", "restart", "pause", "partition", "isolate", "heal")
_TIME = re.compile(r"^(\d+(?:\.\d+)?|\.\d+)(ms|s)$")


@dataclass(frozen=True)
class FaultEvent:
    at: float                          # seconds from the start of the run
    action: str                        # one of ACTIONS
    target: int | str | None = None    # a node id, "leader", "all" (restart) or None
    sides: tuple[tuple[int, ...], ...] | None = None
    duration: float | None = None      # pause length, seconds
    text: str = field(default="", compare=False)

    def describe(self) -> str:
        return self.text or format_event(self)


def format_event(e: FaultEvent) -> str:
    at = f"{e.at:g}s"
    if e.action == "partition":
        return f"{at} partition " + "|".join(",".join(map(str, s)) for s in e.sides or ())
    if e.action == "pause":
        return f"{at} pause {e.target} for {e.duration:g}s"
    if e.action == "heal":
        return f"{at} heal"
    return f"{at} {e.action} {e.target}"


def parse_time(text: str) -> float:
    m = _TIME.match(text.strip())
    if not m:
        raise ValueError(f"bad time {text!r}, expected e.g. '2s', '1.5s' or '500ms'")
    value = float(m.group(1))
    return value / 1000.0 if m.group(2) == "ms" else value


def _node(word: str, nodes: int | None, allow: tuple[str, ...] = ("leader",)) -> int | str:
    if word in allow:
        return word
    if not word.isdigit():
        wanted = " or ".join(["a node id"] + [repr(a) for a in allow])
        raise ValueError(f"bad node {word!r}, expected {wanted}")
    n = int(word)
    if n < 1 or (nodes is not None and n > nodes):
        limit = f"1..{nodes}" if nodes is not None else "1 or more"
        raise ValueError(f"node {n} does not exist (nodes are {limit})")
    return n


def _sides(text: str, nodes: int | None) -> tuple[tuple[int, ...], ...]:
    parts = text.split("|")
    if len(parts) < 2:
        raise ValueError(f"bad partition {text!r}, expected sides like '1,2|3,4,5'")
    sides: list[tuple[int, ...]] = []
    seen: set[int] = set()
    for part in parts:
        ids = []
        for word in (w.strip() for w in part.split(",")):
            if not word:
                raise ValueError(f"bad partition {text!r}: an empty side or a stray ','")
            n = _node(word, nodes, allow=())
            assert isinstance(n, int)
            if n in seen:
                raise ValueError(f"bad partition {text!r}: node {n} is on two sides")
            seen.add(n)
            ids.append(n)
        sides.append(tuple(sorted(ids)))
    if nodes is not None:
        missing = [n for n in range(1, nodes + 1) if n not in seen]
        if missing:
            raise ValueError(f"bad partition {text!r}: node {missing[0]} is on no side")
    return tuple(sides)


def _event(text: str, nodes: int | None) -> FaultEvent:
    words = text.split()
    if len(words) < 2:
        raise ValueError("expected TIME ACTION, e.g. '2s kill leader'")
    at = parse_time(words[0])
    action, args = words[1], words[2:]
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r} (known: {', '.join(ACTIONS)})")
    if action == "heal":
        if args:
            raise ValueError(f"'heal' takes no arguments, got {' '.join(args)!r}")
        return FaultEvent(at, action, text=text)
    if action == "partition":
        if not args:
            raise ValueError("'partition' needs sides, e.g. 'partition 1,2|3,4,5'")
        return FaultEvent(at, action, sides=_sides("".join(args), nodes), text=text)
    if action == "pause":
        if len(args) != 3 or args[1] != "for":
            raise ValueError("expected 'pause NODE for TIME', e.g. 'pause 3 for 2s'")
        return FaultEvent(at, action, target=_node(args[0], nodes),
                          duration=parse_time(args[2]), text=text)
    if len(args) != 1:
        raise ValueError(f"expected '{action} NODE', e.g. '{action} 2'")
    allow = ("all",) if action == "restart" else ("leader",)
    return FaultEvent(at, action, target=_node(args[0], nodes, allow), text=text)


def parse(script: str | None, nodes: int | None = None) -> list[FaultEvent]:
    """The events of `script` in time order; ValueError with a one-line reason if bad."""
    if script is None:
        return []
    events = []
    for i, part in enumerate(re.split(r"[;\n]", script), start=1):
        text = " ".join(part.split())
        if not text:
            continue
        try:
            events.append(_event(text, nodes))
        except ValueError as e:
            raise ValueError(f"fault {i} {text!r}: {e}") from None
    events.sort(key=lambda e: e.at)
    return events
