"""A trace as a Mermaid sequence diagram, to paste into a pull request or a doc.

Mermaid draws an arrow at one moment, so a message is drawn when it is taken off the
network, labelled with the step that sent it: delivered `->>`, delivered again by a
`duplicate` step `-->>`, dropped or lost `-x`; the messages still in flight at the end
are drawn last, as open arrows `-)`. Timeouts, actions and the fields a step changed are
notes over the process; crashes and restarts are notes over the process, partitions,
heals and ticks notes over every lane. The violating step sits in a red `rect` with the
property and its false part. Every label starts with its step number, as in the terminal
table. Text goes through `_text`, which writes Mermaid's entity codes for the characters
its grammar reserves (`#`, `;`, `<`, `>`).
"""
from __future__ import annotations

import re

from checker.report.common import View, analyse
from checker.trace import Trace, describe_action, fmt_value

VIOLATION_FILL = "rgb(255, 228, 228)"
FAULT_FILL = "rgb(243, 232, 255)"


ENTITIES = {"#": "#35;", ";": "#59;", "<": "#lt;", ">": "#gt;", "\n": " "}


def _text(s: str) -> str:
    """Label text with Mermaid's reserved characters as entity codes; our own <br/> kept."""
    return "<br/>".join(re.sub(r"[#;<>\n]", lambda m: ENTITIES[m.group()], part) for part in s.split("<br/>"))


def _ids(view: View) -> list[str]:
    ids: list[str] = []
    for lane in view.lanes:
        base = re.sub(r"\W", "", f"{lane.kind}{fmt_value(lane.id)}".replace(" ", "_")) or f"P{lane.index}"
        if base[0].isdigit():
            base = "P" + base
        name, n = base, 2
        while name in ids:
            name, n = f"{base}_{n}", n + 1
        ids.append(name)
    return ids


def _fields(pairs: list[tuple[str, object]]) -> str:
    return "<br/>".join(f"{name}={fmt_value(value)}" for name, value in pairs)


def render_mermaid(trace: Trace, fence: bool = False) -> str:
    """The trace as `sequenceDiagram` source; `fence=True` wraps it in a ```mermaid block."""
    view = analyse(trace)
    ids = _ids(view)
    everyone = f"{ids[0]},{ids[-1]}" if len(ids) > 1 else (ids[0] if ids else "S")
    lines = ["sequenceDiagram"]
    meta = trace.meta
    title = str(meta.get("spec") or "trace") + (f", model {meta['model']}" if meta.get("model") else "")
    v = view.violation
    if v is not None:
        title += f": {v.property} violated" + (f" ({v.kind})" if v.kind else "")
    lines.append(f"    %% {title.replace(chr(10), ' ')}")
    if not ids:
        lines.append("    participant S as state")
    for lane, pid in zip(view.lanes, ids):
        lines.append(f"    participant {pid} as {_text(lane.label)}")

    taken: dict[int, list] = {}
    for m in view.messages:
        if m.end is not None:
            taken.setdefault(m.end, []).append(m)

    def over(i: int) -> str:
        lane = view.actor(i)
        return ids[lane] if lane is not None else everyone

    for i, step in enumerate(view.steps):
        a = step.action
        kind = a.get("kind")
        violating = v is not None and i == v.step
        body: list[str] = []
        for m in taken.get(i, []):
            src, dst = view.lane_of(m.src), view.lane_of(m.dst)
            if src is None or dst is None:
                continue
            arrow = {"delivered": "->>", "duplicate": "-->>"}.get(m.status, "-x")
            what = {"delivered": "", "duplicate": ", a copy stays in flight", "dropped": ", dropped",
                    "lost": ", lost", "merged": ", merged with a copy in flight"}[m.status]
            copy = "a copy " if m.copy else ""
            body.append(f"{ids[src]}{arrow}{ids[dst]}: {_text(f'{i}. {m.label} ({copy}sent at {m.sent}{what})')}")
        if kind == "init":
            for lane, pid in zip(view.lanes, ids):
                body.append(f"Note over {pid}: {_text('0. ' + _fields(view.changes[0].get(lane.index, [])))}")
            if view.global_changes[0]:
                body.append(f"Note over {everyone}: {_text('0. ' + _fields(view.global_changes[0]))}")
        else:
            actor = view.actor(i)
            if kind not in ("deliver", "duplicate", "drop"):
                label = describe_action(a)
                if kind == "tick" and "now" in step.state:
                    label += f" (now={fmt_value(step.state['now'])})"
                changes = view.changes[i].get(actor, []) if actor is not None else []
                text = f"{i}. {label}" + ("<br/>" + _fields(changes) if changes else "")
                body.append(f"Note over {over(i)}: {_text(text)}")
            for lane, pid in zip(view.lanes, ids):
                if kind not in ("deliver", "duplicate", "drop") and lane.index == actor:
                    continue
                changes = view.changes[i].get(lane.index, [])
                if changes:
                    body.append(f"Note over {pid}: {_text(f'{i}. ' + _fields(changes))}")
            if view.global_changes[i]:
                body.append(f"Note over {everyone}: {_text(f'{i}. ' + _fields(view.global_changes[i]))}")
        if violating:
            lines.append(f"    rect {VIOLATION_FILL}")
            lines += ["        " + b for b in body]
            text = f"{i}. violates {v.property}" + (f": {v.explanation}" if v.explanation else "")
            lines.append(f"        Note over {everyone}: {_text(text)}")
            lines.append("    end")
        elif view.is_fault(i) and kind in ("crash", "restart", "partition", "heal"):
            lines.append(f"    rect {FAULT_FILL}")
            lines += ["        " + b for b in body]
            lines.append("    end")
        else:
            lines += ["    " + b for b in body]

    for m in view.in_flight_at_end():
        src, dst = view.lane_of(m.src), view.lane_of(m.dst)
        if src is not None and dst is not None:
            copy = "a copy " if m.copy else ""
            lines.append(f"    {ids[src]}-){ids[dst]}: {_text(f'{m.label} ({copy}sent at {m.sent}, still in flight)')}")
    if trace.loop is not None:
        lines.append(f"    Note over {everyone}: {_text(f'the run loops back to step {trace.loop}')}")
    out = "\n".join(lines) + "\n"
    return f"```mermaid\n{out}```\n" if fence else out
