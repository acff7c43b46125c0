"""A trace as a terminal table: one numbered row per step, one column per process.

Each row names the step (`deliver RequestVote(term=1) 1->2`, `crash 2`) and the
messages it sent; a process's cell shows only the fields that step changed, plus
`down` / `up` when it crashed or restarted. Faults are marked F and the violating step
!, with a legend under the table; the violating row also shows, for every process, the
fields the false part of the property mentions (meta["violation"]["explanation"]),
highlighted.
Below the table: the violated property and its false part, the messages still in flight
and the command that shows the trace again.

`render_text(trace, color=False)` gives plain text (no escape codes, ASCII borders),
what a pipe, a log or a golden file wants; `color=True` gives rich's colours and
rounded borders for a terminal. `wants_color(stream)` is the usual test for that.
"""
from __future__ import annotations

import io
import os
import re
from typing import Any, TextIO

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from checker.report.common import View, analyse, fmt_sends
from checker.trace import Trace, describe_action, fmt_envelope, fmt_value

STYLE = {
    "title": "bold",
    "field": "cyan",
    "fault": "bold magenta",
    "down": "bold red",
    "up": "bold green",
    "sent": "dim",
    "violation": "bold red",
    "false": "bold white on red",
    "hint": "dim",
}

MARKS = {"fault": ("F", "fault"), "violation": ("!", "violating state"), "loop": ("L", "loop starts")}


def wants_color(stream: TextIO) -> bool:
    """True for a terminal that accepts colour (NO_COLOR unset), False for pipes and files."""
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def mentioned_fields(view: View, explanation: str) -> set[str]:
    """Short names of process fields that appear as words in the false part of a property."""
    names = {name for fs in view.fields.values() for _, name in fs}
    return {n for n in names if re.search(rf"(?<![\w]){re.escape(n)}(?![\w])", explanation)}


def _title(view: View) -> Text:
    meta = view.trace.meta
    where = str(meta.get("spec") or "trace")
    if meta.get("model"):
        where += f", model {meta['model']}"
    n = len(view.steps) - 1
    steps = f"{n} step" + ("" if n == 1 else "s")
    t = Text(where + ": ", style=STYLE["title"])
    v = view.violation
    if v is not None:
        t.append(f"{v.property} violated", style=STYLE["violation"])
        if v.kind:
            t.append(f" ({v.kind})")
        t.append(f" after {steps}")
    else:
        verdict = meta.get("verdict")
        t.append(f"{verdict}, {steps}" if verdict else steps)
    return t


def _step_cell(view: View, i: int) -> Text:
    a = view.steps[i].action
    t = Text(describe_action(a), style=STYLE["fault"] if view.is_fault(i) else "")
    if a.get("kind") == "tick" and "now" in view.steps[i].state:
        t.append(f" (now={fmt_value(view.steps[i].state['now'])})")
    for line in fmt_sends(a.get("sent") or []):
        t.append("\nsend " + line, style=STYLE["sent"])
    return t


def _lane_cell(view: View, i: int, lane_index: int, extra: set[str]) -> Text:
    lane = view.lanes[lane_index]
    t = Text()
    lines: list[tuple[str, str]] = []
    was_down = i > 0 and lane_index in view.down_at[i - 1]
    is_down = lane_index in view.down_at[i]
    if is_down and not was_down:
        lines.append(("down", STYLE["down"]))
    elif was_down and not is_down:
        lines.append(("up", STYLE["up"]))
    for line, style in lines:
        t.append(line, style=style)
    changed = dict(view.changes[i].get(lane_index, []))
    shown = [(n, v) for n, v in view.state_of(i, lane) if n in changed or n in extra]
    for name, value in shown:
        if len(t):
            t.append("\n")
        style = STYLE["false"] if name in extra else ""
        t.append(name, style=style or STYLE["field"])
        t.append("=" + fmt_value(value), style=style)
    return t


def _globals_cell(view: View, i: int) -> Text:
    t = Text()
    for name, value in view.global_changes[i]:
        if len(t):
            t.append("\n")
        t.append(name, style=STYLE["field"])
        t.append("=" + fmt_value(value))
    return t


def render_text(trace: Trace, color: bool = False, width: int = 100) -> str:
    view = analyse(trace)
    out = io.StringIO()
    console = Console(file=out, width=width, color_system="truecolor" if color else None,
                      force_terminal=color, no_color=not color, highlight=False, emoji=False,
                      markup=False, legacy_windows=False, _environ={})
    console.print(_title(view))

    v = view.violation
    extra = mentioned_fields(view, v.explanation) if v is not None else set()
    show_globals = any(view.global_changes[i] for i in range(len(view.steps)))
    table = Table(box=box.ROUNDED if color else box.ASCII2, show_lines=False, pad_edge=True,
                  header_style="bold", collapse_padding=False, expand=False)
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("", no_wrap=True)
    table.add_column("step", overflow="fold")
    for lane in view.lanes:
        table.add_column(lane.label, overflow="fold")
    if show_globals:
        table.add_column("globals", overflow="fold")
    used: set[str] = set()
    for i in range(len(view.steps)):
        violating = v is not None and i == v.step
        marks = Text()
        if view.is_fault(i):
            marks.append(MARKS["fault"][0], style=STYLE["fault"])
        if trace.loop is not None and i == trace.loop:
            marks.append(MARKS["loop"][0])
        if violating:
            marks.append(MARKS["violation"][0], style=STYLE["violation"])
        used.update(k for k, (m, _) in MARKS.items() if m in marks.plain)
        row: list[Any] = [Text(str(i), style=STYLE["violation"] if violating else ""), marks]
        row.append(_step_cell(view, i))
        for lane in view.lanes:
            row.append(_lane_cell(view, i, lane.index, extra if violating else set()))
        if show_globals:
            row.append(_globals_cell(view, i))
        table.add_row(*row, end_section=i < len(view.steps) - 1)
    console.print(table)
    if used:
        console.print(Text("  ".join(f"{m} {what}" for k, (m, what) in MARKS.items() if k in used),
                           style=STYLE["hint"]))

    if v is not None:
        t = Text(f"violation at step {v.step}: ", style=STYLE["violation"])
        t.append(v.property + (f" ({v.kind})" if v.kind else ""))
        console.print(t)
        if v.explanation:
            t = Text("  false: ")
            t.append(v.explanation, style=STYLE["false"])
            console.print(t)
    if trace.loop is not None:
        console.print(Text(f"the run loops back to step {trace.loop}"))
    flying = view.in_flight_at_end()
    if flying:
        names = "; ".join(fmt_envelope({"src": m.src, "dst": m.dst, "msg": m.msg}) for m in flying)
        console.print(Text(f"in flight at the end: {names}"))
    replay = trace.meta.get("replay")
    if replay:
        console.print(Text(f"replay: {replay}", style=STYLE["hint"]))
    text = out.getvalue()
    if not color:
        text = "\n".join(line.rstrip() for line in text.split("\n"))
    return text
