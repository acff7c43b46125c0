"""A trace as one self-contained HTML page: an SVG sequence diagram above the state table.

The page needs no network and no JavaScript: styles are inline, the diagram is inline
SVG, and each step of the diagram is a link to its row of the table (`#step-3`, shown by
`:target`). A few lines of script only make the click select the row in place and keep
the diagram and the table in step.

The diagram has one vertical lane per process (meta["processes"]) and one row per step,
the step number and action in the left gutter. Along a lane, coloured segments show the
value of the process's role field (role, status or state: Follower, Candidate, Leader),
and a grey band the time it was down. Each copy of a message is an arrow from its send
step to the step that took it: delivered (solid), delivered by a `duplicate` step while
a copy stays in flight (dashed, badge x2), dropped or lost (ending in a cross halfway),
or still in flight at the end (an open arrowhead below the last step). Crashes are
crosses and restarts circles on the lane; partitions, heals and ticks are lines across
all lanes, a partition also shades the rows it lasts and draws the cut between lanes of
different sides. The violating step is framed in red.

Every drawn thing carries a class and data attributes, so a test can read the picture
from the DOM: `.lane[data-proc]`, `.role[data-proc][data-role]`,
`.msg[data-src][data-dst][data-step-sent][data-step-delivered|data-step-dropped|...]`,
`.fault[data-kind][data-step]`, `.event[data-kind][data-step]`, `.violation[data-step]`,
and the table rows `tr#step-N[data-step]`.

This file is long because it is the whole page: layout, drawing, table and styles.
"""
from __future__ import annotations

import math
from html import escape
from typing import Any

from checker.report.common import Message, View, analyse, fmt_sends
from checker.report.text import mentioned_fields
from checker.trace import Trace, describe_action, fmt_envelope, fmt_value

ROW = 44            # height of one step
LANE_GAP = 210      # distance between lanes
TOP = 64            # room for the lane headers
CHAR = 7.0          # width of a character of the 12px monospace gutter text
RIGHT = 200         # room right of the lanes for partition, tick and violation labels
SEP = " \u00b7 "
LABEL_MAX = 44      # characters of an action in the gutter; the rest is in its tooltip

ROLE_COLOURS = {    # well-known role names: the same colour in every report
    "leader": "#16a34a", "leading": "#16a34a", "elected": "#16a34a", "coordinator": "#16a34a",
    "candidate": "#f59e0b", "electing": "#f59e0b", "election": "#f59e0b", "looking": "#f59e0b",
    "follower": "#60a5fa", "following": "#60a5fa", "idle": "#94a3b8", "normal": "#60a5fa",
}
PALETTE = ["#a78bfa", "#2dd4bf", "#f472b6", "#fb923c", "#818cf8", "#a3e635", "#e879f9", "#38bdf8"]


def _n(x: float) -> str:
    r = round(x, 1)
    return str(int(r)) if r == int(r) else str(r)


def _a(**attrs: Any) -> str:
    """Attributes in the given order; None values left out; names with _ written with -."""
    out = []
    for k, v in attrs.items():
        if v is None:
            continue
        name = k.rstrip("_").replace("_", "-")
        out.append(f'{name}="{escape(_n(v) if isinstance(v, float) else str(v), quote=True)}"')
    return " ".join(out)


class _Layout:
    def __init__(self, view: View):
        self.view = view
        n = len(view.steps)
        labels = [min(len(describe_action(s.action)), LABEL_MAX) for s in view.steps]
        self.gutter = 48 + CHAR * max([16] + labels) + 16
        self.lanes_w = LANE_GAP * max(len(view.lanes), 1)
        self.right_x = self.gutter + self.lanes_w
        self.width = self.right_x + RIGHT
        self.y_end = self.y(n - 1) + ROW            # where arrows still in flight end
        self.height = self.y_end + 30

    def x(self, lane_index: int) -> float:
        return self.gutter + LANE_GAP / 2 + LANE_GAP * lane_index

    def y(self, i: int) -> float:
        return TOP + 8 + ROW * i + ROW / 2

    def top(self, i: int) -> float:
        return self.y(i) - ROW / 2


def role_colours(view: View) -> dict[str, str]:
    """Colour of each role value: well-known names fixed, others from a palette by first use."""
    out: dict[str, str] = {}
    spare = iter(PALETTE * 4)
    for lane in view.lanes:
        for seg in view.roles.get(lane.index, []):
            if seg.value not in out:
                out[seg.value] = ROLE_COLOURS.get(seg.value.lower()) or next(spare, "#cbd5e1")
    return out


def _pid(view: View, lane_index: int) -> str:
    return fmt_value(view.lanes[lane_index].id)


def _defs() -> str:
    return (
        "<defs>"
        '<marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" class="head"/></marker>'
        '<marker id="arrow-dup" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" class="head-dup"/></marker>'
        '<marker id="arrow-open" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" markerHeight="8" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10" class="head-open"/></marker>'
        '<pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="6" height="6" fill="#e5e7eb"/>'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="#9ca3af" stroke-width="2"/></pattern>'
        "</defs>"
    )


def _step_rows(view: View, lay: _Layout) -> list[str]:
    out = []
    v = view.violation
    for i, s in enumerate(view.steps):
        label = describe_action(s.action)
        if s.action.get("kind") == "tick" and "now" in s.state:
            label += f" (now={fmt_value(s.state['now'])})"
        short = label if len(label) <= LABEL_MAX else label[:LABEL_MAX - 1] + "\u2026"
        cls = ["step", "odd" if i % 2 else "even"]
        if view.is_fault(i):
            cls.append("is-fault")
        if v is not None and i == v.step:
            cls.append("is-violating")
        tip = f"step {i}: {label}"
        sends = fmt_sends(s.action.get("sent") or [])
        if sends:
            tip += "\nsend " + "\nsend ".join(sends)
        out.append(
            f'<g {_a(class_=" ".join(cls), id=f"d-step-{i}", data_step=i)}>'
            f'<a href="#step-{i}"><title>{escape(tip)}</title>'
            f'<rect class="row-bg" {_a(x=0, y=lay.top(i), width=lay.width, height=ROW)}/>'
            f'<text class="step-no" {_a(x=36, y=lay.y(i) + 4)}>{i}</text>'
            f'<text class="step-label" {_a(x=48, y=lay.y(i) + 4)}>{escape(short)}</text>'
            "</a></g>")
    return out


def _partition_bands(view: View, lay: _Layout) -> list[str]:
    out = []
    n = len(view.steps)
    i = 0
    while i < n:
        sides = view.partition_at[i]
        if not sides:
            i += 1
            continue
        j = i
        while j + 1 < n and view.partition_at[j + 1] == sides:
            j += 1
        y1 = lay.y(i) if i > 0 else lay.top(0)
        y2 = lay.y(j + 1) if j + 1 < n else lay.y_end
        side_of: dict[int, int] = {}
        for k, side in enumerate(sides):
            for p in side:
                lane = view.lane_of(p)
                if lane is not None:
                    side_of[lane] = k
        text = " | ".join("{" + ", ".join(fmt_value(p) for p in side) + "}" for side in sides)
        parts = [f'<g {_a(class_="partitioned", data_from=i, data_to=j, data_sides=text)}>',
                 f'<rect class="band" {_a(x=lay.gutter, y=y1, width=lay.lanes_w, height=y2 - y1)}/>']
        for a in range(len(view.lanes) - 1):
            if a in side_of and a + 1 in side_of and side_of[a] != side_of[a + 1]:
                x = (lay.x(a) + lay.x(a + 1)) / 2
                parts.append(f'<line class="cut" {_a(x1=x, y1=y1, x2=x, y2=y2)}/>')
        parts.append("</g>")
        out.append("".join(parts))
        i = j + 1
    return out


def _lanes(view: View, lay: _Layout, colours: dict[str, str]) -> list[str]:
    out = []
    n = len(view.steps)
    for lane in view.lanes:
        x = lay.x(lane.index)
        pid = _pid(view, lane.index)
        parts = [f'<g {_a(class_="lane", data_proc=pid, data_kind=lane.kind, data_index=lane.index)}>',
                 f'<rect class="lane-head" {_a(x=x - 60, y=12, width=120, height=30, rx=6)}/>',
                 f'<text class="lane-name" {_a(x=x, y=32)}>{escape(lane.label)}</text>',
                 f'<line class="lifeline" {_a(x1=x, y1=42, x2=x, y2=lay.y_end)}/>']
        for seg in view.roles.get(lane.index, []):
            y1 = lay.y(seg.start) if seg.start > 0 else lay.top(0)
            y2 = lay.y(seg.end) if seg.end < n else lay.y_end
            last = seg.end - 1
            parts.append(
                f'<rect {_a(class_="role", data_proc=pid, data_role=seg.value, data_from=seg.start, data_to=last, x=x - 6, y=y1, width=12, height=y2 - y1, rx=3, fill=colours[seg.value])}>'
                f"<title>{escape(f'{lane.label}: {seg.value}, steps {seg.start}-{last}')}</title></rect>")
        down_from = None
        for i in range(n + 1):
            is_down = i < n and lane.index in view.down_at[i]
            if is_down and down_from is None:
                down_from = i
            elif not is_down and down_from is not None:
                y1, y2 = lay.y(down_from), (lay.y(i) if i < n else lay.y_end)
                parts.append(f'<rect {_a(class_="down", data_proc=pid, data_from=down_from, data_to=i - 1, x=x - 7, y=y1, width=14, height=y2 - y1)}>'
                             f"<title>{escape(lane.label)} down</title></rect>")
                down_from = None
        parts.append("</g>")
        out.append("".join(parts))
    return out


def _role_tags(view: View, lay: _Layout, colours: dict[str, str]) -> list[str]:
    """The name of each role segment, a tag beside the lane where it starts, drawn over the arrows:
    on the right, unless an arrow leaves or reaches the lane on that side at that step and the
    left side is free."""
    busy: set[tuple[int, int, int]] = set()      # (lane, step, side): -1 left, +1 right
    for m in view.messages:
        src, dst = view.lane_of(m.src), view.lane_of(m.dst)
        if src is None or dst is None or src == dst:
            continue
        busy.add((src, m.sent, 1 if dst > src else -1))
        if m.end is not None:
            busy.add((dst, m.end, 1 if src > dst else -1))
    out = []
    for lane in view.lanes:
        x = lay.x(lane.index)
        for seg in view.roles.get(lane.index, []):
            y1 = lay.y(seg.start) + 3 if seg.start > 0 else lay.top(0) + 2
            w = 10 + 6.6 * len(seg.value)
            left = (lane.index, seg.start, 1) in busy and (lane.index, seg.start, -1) not in busy
            x1 = x - 8 - w if left else x + 8
            out.append(f'<g {_a(class_="role-tag", data_proc=_pid(view, lane.index), data_role=seg.value)}>'
                       f'<rect {_a(x=x1, y=y1, width=w, height=15, rx=7, stroke=colours[seg.value])}/>'
                       f'<text {_a(x=x1 + 5, y=y1 + 11)}>{escape(seg.value)}</text></g>')
    return out


def _cross(x: float, y: float, r: float = 6) -> str:
    return (f'<line {_a(x1=x - r, y1=y - r, x2=x + r, y2=y + r)}/>'
            f'<line {_a(x1=x - r, y1=y + r, x2=x + r, y2=y - r)}/>')


def _faults_and_events(view: View, lay: _Layout) -> list[str]:
    out = []
    x0, x1 = lay.gutter + 8, lay.right_x - 8
    for i, s in enumerate(view.steps):
        a = s.action
        kind = a.get("kind")
        y = lay.y(i)
        lane = view.lane_of(a["proc"]) if "proc" in a else None
        pid = _pid(view, lane) if lane is not None else None
        if kind == "crash" and lane is not None:
            out.append(f'<g {_a(class_="fault", data_kind="crash", data_step=i, data_proc=pid)}>'
                       f'<title>step {i}: crash {escape(pid)}</title>{_cross(lay.x(lane), y, 8)}</g>')
        elif kind == "restart" and lane is not None:
            out.append(f'<g {_a(class_="fault", data_kind="restart", data_step=i, data_proc=pid)}>'
                       f'<title>step {i}: restart {escape(pid)}</title>'
                       f'<circle {_a(cx=lay.x(lane), cy=y, r=8)}/></g>')
        elif kind in ("partition", "heal", "tick"):
            label = describe_action(a)
            if kind == "partition" and view.partition_at[i]:
                label = "partition " + " | ".join(
                    "{" + ", ".join(fmt_value(p) for p in side) + "}" for side in view.partition_at[i])
            if kind == "tick" and "now" in s.state:
                label = f"tick: now={fmt_value(s.state['now'])}"
            out.append(f'<g {_a(class_="fault", data_kind=kind, data_step=i)}>'
                       f'<title>step {i}: {escape(label)}</title>'
                       f'<line class="across" {_a(x1=x0, y1=y, x2=x1, y2=y)}/>'
                       f'<text class="side-label" {_a(x=lay.right_x + 4, y=y + 4)}>{escape(label)}</text></g>')
        elif kind in ("timeout", "action"):
            name = f"{kind} {a.get('name', '?')}" if kind == "timeout" else describe_action(a)
            if lane is not None:
                x = lay.x(lane)
                out.append(f'<g {_a(class_="event", data_kind=kind, data_step=i, data_proc=pid)}>'
                           f'<title>step {i}: {escape(describe_action(a))}</title>'
                           f'<path {_a(d=f"M{_n(x)},{_n(y - 7)} L{_n(x + 7)},{_n(y)} L{_n(x)},{_n(y + 7)} L{_n(x - 7)},{_n(y)} z")}/></g>')
            else:
                out.append(f'<g {_a(class_="event", data_kind=kind, data_step=i)}>'
                           f'<title>step {i}: {escape(name)}</title>'
                           f'<line class="across" {_a(x1=x0, y1=y, x2=x1, y2=y)}/>'
                           f'<text class="side-label" {_a(x=lay.right_x + 4, y=y + 4)}>{escape(name)}</text></g>')
    return out


def _message(view: View, lay: _Layout, m: Message) -> str | None:
    src, dst = view.lane_of(m.src), view.lane_of(m.dst)
    if src is None or dst is None:
        return None
    xs, ys = lay.x(src), lay.y(m.sent)
    xd = lay.x(dst)
    attrs: dict[str, Any] = {"class_": f"msg {m.status}" + (" copy" if m.copy else ""),
                             "data_src": fmt_value(m.src), "data_dst": fmt_value(m.dst),
                             "data_msg": m.label, "data_status": m.status, "data_step_sent": m.sent}
    if m.status in ("delivered", "duplicate"):
        attrs["data_step_delivered"] = m.end
    elif m.status in ("dropped", "lost", "merged"):
        attrs[f"data_step_{m.status}"] = m.end
    env = fmt_envelope({"src": m.src, "dst": m.dst, "msg": m.msg})
    fate = {"delivered": f"delivered at step {m.end}", "duplicate": f"delivered at step {m.end}, a copy stays in flight",
            "dropped": f"dropped at step {m.end}", "lost": f"lost at step {m.end}",
            "merged": f"merged at step {m.end} with a copy in flight", "inflight": "still in flight at the end"}[m.status]
    parts = [f"<g {_a(**attrs)}><title>{escape(f'{env}: sent at step {m.sent}, {fate}')}</title>",
             f'<circle class="send" {_a(cx=xs, cy=ys, r=3)}/>']
    if m.status in ("delivered", "duplicate"):
        xe, ye = xd, lay.y(m.end)
    elif m.status == "inflight":
        xe, ye = xs + (xd - xs) * 0.75, lay.y_end
    else:
        xe, ye = xs + (xd - xs) * 0.55, lay.y(m.end)
    marker = {"delivered": "arrow", "duplicate": "arrow-dup", "inflight": "arrow-open"}.get(m.status)
    mark = f' marker-end="url(#{marker})"' if marker else ""
    if src == dst:
        bend = 50
        d = f"M{_n(xs)},{_n(ys)} C{_n(xs + bend)},{_n(ys)} {_n(xe + bend)},{_n(ye)} {_n(xe)},{_n(ye)}"
        parts.append(f'<path class="line" {_a(d=d)}{mark}/>')
        label = _a(class_="msg-label", x=xs + bend * 0.75 + 4, y=(ys + ye) / 2 + 4, text_anchor="start")
    else:
        parts.append(f'<line class="line" {_a(x1=xs, y1=ys, x2=xe, y2=ye)}{mark}/>')
        if m.status == "inflight":       # under the open arrowhead, below the last step
            label = _a(class_="msg-label", x=xe, y=ye + 14)
        elif abs(ye - ys) <= ROW * 1.5:  # a short arrow: along it, at its middle
            mx, my = (xs + xe) / 2, (ys + ye) / 2
            angle = math.degrees(math.atan2(ye - ys, xe - xs))
            angle = angle - 180 if angle > 90 else angle + 180 if angle < -90 else angle
            label = _a(class_="msg-label", x=mx, y=my - 4, transform=f"rotate({_n(angle)} {_n(mx)} {_n(my)})")
        else:                            # a long one: level, beside its end
            right = xe > xs
            label = _a(class_="msg-label " + ("end" if right else "start"),
                       x=xe - 14 if right else xe + 14, y=ye - 7)
    parts.append(f"<text {label}>{escape(m.label)}</text>")
    if m.status == "dropped":
        parts.append(f'<g {_a(class_="fault cross", data_kind="drop", data_step=m.end)}>{_cross(xe, ye)}</g>')
    elif m.status in ("lost", "merged"):
        parts.append(f'<g class="cross">{_cross(xe, ye)}</g>')
    elif m.status == "duplicate":
        parts.append(f'<g {_a(class_="fault badge", data_kind="duplicate", data_step=m.end)}>'
                     f'<rect {_a(x=xe - 34, y=ye - 17, width=22, height=13, rx=3)}/>'
                     f'<text {_a(x=xe - 23, y=ye - 7)}>x2</text></g>')
    parts.append("</g>")
    return "".join(parts)


def _violation_mark(view: View, lay: _Layout) -> list[str]:
    v = view.violation
    if v is None:
        return []
    y = lay.top(v.step)
    tip = f"step {v.step} violates {v.property}" + (f": {v.explanation}" if v.explanation else "")
    return [f'<g {_a(class_="violation", data_step=v.step, data_property=v.property)}>'
            f"<title>{escape(tip)}</title>"
            f'<rect {_a(x=1, y=y + 1, width=lay.width - 2, height=ROW - 2, rx=4)}/>'
            f'<text {_a(x=lay.right_x + 4, y=lay.y(v.step) + 4)}>\u2717 {escape(v.property)}</text></g>']


def render_svg(view: View) -> str:
    lay = _Layout(view)
    colours = role_colours(view)
    body: list[str] = [_defs()]
    body.append('<g class="rows">' + "".join(_step_rows(view, lay)) + "</g>")
    body.append('<g class="bands">' + "".join(_partition_bands(view, lay)) + "</g>")
    body.append('<g class="lanes">' + "".join(_lanes(view, lay, colours)) + "</g>")
    body.append('<g class="marks">' + "".join(_faults_and_events(view, lay)) + "</g>")
    msgs = [x for x in (_message(view, lay, m) for m in view.messages) if x]
    body.append('<g class="messages">' + "".join(msgs) + "</g>")
    body.append('<g class="role-tags">' + "".join(_role_tags(view, lay, colours)) + "</g>")
    body.append("".join(_violation_mark(view, lay)))
    head = _a(xmlns="http://www.w3.org/2000/svg", class_="seq", width=lay.width, height=lay.height,
              viewBox=f"0 0 {_n(lay.width)} {_n(lay.height)}", role="img",
              aria_label=f"sequence diagram of {len(view.steps) - 1} steps",
              data_steps=len(view.steps), data_lanes=len(view.lanes))
    return f"<svg {head}>" + "\n".join(body) + "</svg>"


# ---- the state table -------------------------------------------------------------------

def _value_html(name: str, value: Any, changed: bool, colours: dict[str, str], role: str | None,
                false_part: bool) -> str:
    text = fmt_value(value)
    cls = ["v"]
    style = None
    if changed:
        cls.append("changed")
    if false_part:
        cls.append("false-part")
    if role is not None and name == role and text in colours:
        cls.append("role-value")
        style = f"border-left-color:{colours[text]}"
    return (f'<div {_a(class_="f", data_field=name)}><span class="k">{escape(name)}</span> '
            f'<span {_a(class_=" ".join(cls), style=style)}>{escape(text)}</span></div>')


def _table(view: View, colours: dict[str, str]) -> str:
    trace = view.trace
    v = view.violation
    extra = mentioned_fields(view, v.explanation) if v is not None else set()
    env_vars = [x for x in ("now", "down", "partition", "crashes", "partitions") if x in trace.vars]
    has_net = "network" in trace.vars
    head = ["<th>#</th>", "<th>step</th>"]
    head += [f'<th {_a(data_proc=_pid(view, ln.index))}>{escape(ln.label)}</th>' for ln in view.lanes]
    if view.globals:
        head.append("<th>globals</th>")
    if env_vars:
        head.append("<th>faults and time</th>")
    if has_net:
        head.append("<th>in flight</th>")
    rows = []
    for i, s in enumerate(view.steps):
        violating = v is not None and i == v.step
        cls = []
        if view.is_fault(i):
            cls.append("is-fault")
        if violating:
            cls.append("is-violating")
        a = s.action
        step = f'<div class="action">{escape(describe_action(a))}</div>'
        for line in fmt_sends(a.get("sent") or []):
            step += f'<div class="sent">send {escape(line)}</div>'
        if violating:
            step += f'<div class="violated">violates {escape(v.property)}</div>'
        cells = [f'<td class="no"><a href="#step-{i}">{i}</a></td>', f'<td class="act">{step}</td>']
        for lane in view.lanes:
            changed = {n for n, _ in view.changes[i].get(lane.index, [])} if i > 0 else set()
            role = view.role_field.get(lane.kind)
            down = lane.index in view.down_at[i]
            inner = '<div class="down-badge">down</div>' if down else ""
            inner += "".join(_value_html(n, val, n in changed, colours, role, violating and n in extra)
                             for n, val in view.state_of(i, lane))
            cells.append(f'<td {_a(data_proc=_pid(view, lane.index), class_="is-down" if down else None)}>{inner}</td>')
        if view.globals:
            changed = {n for n, _ in view.global_changes[i]} if i > 0 else set()
            cells.append("<td>" + "".join(_value_html(g, s.state.get(g), g in changed, colours, None, False)
                                          for g in view.globals) + "</td>")
        if env_vars:
            prev = view.steps[i - 1].state if i > 0 else None
            cells.append("<td>" + "".join(
                _value_html(e, s.state.get(e), prev is not None and prev.get(e) != s.state.get(e), colours, None, False)
                for e in env_vars) + "</td>")
        if has_net:
            flying = _in_flight(s.state.get("network"))
            if flying:
                items = "".join(f"<li>{escape(x)}</li>" for x in flying)
                cells.append(f'<td class="net"><details><summary>{len(flying)} message'
                             f'{"" if len(flying) == 1 else "s"}</summary><ul>{items}</ul></details></td>')
            else:
                cells.append('<td class="net">none</td>')
        rows.append(f'<tr {_a(id=f"step-{i}", data_step=i, class_=" ".join(cls) or None)}>' + "".join(cells) + "</tr>")
    return ('<table id="states"><thead><tr>' + "".join(head) + "</tr></thead><tbody>\n"
            + "\n".join(rows) + "\n</tbody></table>")


def _in_flight(net: Any) -> list[str]:
    out = []
    if not isinstance(net, dict):
        return out
    pairs = net.get("#map") if "#map" in net else [[e, 1] for e in net.get("#set", [])]
    for e, c in pairs or []:
        if isinstance(e, dict) and {"src", "dst", "msg"} <= set(e):
            times = f" x{fmt_value(c)}" if c not in (1, {"#bigint": "1"}) else ""
            out.append(fmt_envelope(e) + times)
        else:
            out.append(f"{fmt_value(e)} x{fmt_value(c)}")
    return out


# ---- the page --------------------------------------------------------------------------

CSS = """
:root { --ink:#1f2937; --muted:#6b7280; --line:#e5e7eb; --fault:#7c3aed; --bad:#dc2626; --sel:#2563eb; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
       color: var(--ink); margin: 24px; background: #fff; }
h1 { font-size: 20px; margin: 0 0 4px; }
h1 .prop { color: var(--bad); }
h2 { font-size: 16px; margin: 28px 0 8px; }
.meta { color: var(--muted); margin: 0 0 8px; }
.false { margin: 8px 0; }
.false code { background: #fee2e2; color: #7f1d1d; padding: 2px 6px; border-radius: 4px; }
code, .step-label, .msg-label, .mark-label, .side-label, .role-label, td, .legend {
  font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; }
.diagram { overflow-x: auto; border: 1px solid var(--line); border-radius: 8px; padding: 4px; }
.legend { font-size: 12px; color: var(--muted); margin: 6px 0 0; display: flex; flex-wrap: wrap; gap: 14px; }
.legend .sw { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 4px;
              vertical-align: -1px; }
svg.seq text { font-size: 12px; fill: var(--ink); }
svg.seq .row-bg { fill: #fff; }
svg.seq .odd .row-bg { fill: #f9fafb; }
svg.seq .is-fault .step-label { fill: var(--fault); }
svg.seq .is-violating .row-bg { fill: #fef2f2; }
svg.seq .step:hover .row-bg { fill: #eef2ff; }
svg.seq .step.selected .row-bg { fill: #dbeafe; }
svg.seq .step-no { text-anchor: end; font-weight: 600; fill: var(--muted); }
svg.seq .step a { cursor: pointer; }
svg.seq .lanes, svg.seq .bands { pointer-events: none; }
svg.seq .lane-head { fill: #f3f4f6; stroke: #9ca3af; }
svg.seq .lane-name { text-anchor: middle; font-weight: 600; font-size: 13px; }
svg.seq .lifeline { stroke: #9ca3af; stroke-width: 1.5; stroke-dasharray: 4 3; }
svg.seq .role { stroke: rgba(0,0,0,.25); stroke-width: .5; }
svg.seq .role-tags { pointer-events: none; }
svg.seq .role-tag rect { fill: #fff; stroke-width: 1.5; }
svg.seq .role-tag text { font-size: 11px; font-weight: 600; fill: #374151; }
svg.seq .down { fill: url(#hatch); stroke: #6b7280; stroke-width: .5; }
svg.seq .band { fill: #f5f3ff; }
svg.seq .cut { stroke: var(--fault); stroke-width: 2; stroke-dasharray: 6 4; }
svg.seq .fault line, svg.seq .fault circle { stroke: var(--fault); stroke-width: 2.5; fill: none; }
svg.seq .fault[data-kind=crash] line { stroke: var(--bad); stroke-width: 3; }
svg.seq .fault[data-kind=restart] circle { stroke: #16a34a; fill: #fff; }
svg.seq .fault .across { stroke-width: 1.5; stroke-dasharray: 8 4; }
svg.seq .fault[data-kind=heal] .across { stroke: #16a34a; }
svg.seq .fault[data-kind=tick] .across { stroke: #9ca3af; stroke-dasharray: 2 4; }
svg.seq .fault[data-kind=heal] .side-label { fill: #15803d; }
svg.seq .fault[data-kind=tick] .side-label { fill: var(--muted); }
svg.seq .side-label, svg.seq .mark-label { font-size: 11px; }
svg.seq .side-label { fill: var(--fault); }
svg.seq .mark-label { text-anchor: end; fill: #374151; paint-order: stroke; stroke: #fff; stroke-width: 3px; }
svg.seq .event path { fill: #374151; }
svg.seq .event .across { stroke: #374151; stroke-dasharray: 2 3; }
svg.seq .msg .line { stroke: #1e3a8a; stroke-width: 1.6; fill: none; }
svg.seq .msg .send { fill: #1e3a8a; }
svg.seq .msg-label { font-size: 11px; text-anchor: middle; fill: #1e3a8a;
                     paint-order: stroke; stroke: #fff; stroke-width: 3px; }
svg.seq .msg-label.start { text-anchor: start; }
svg.seq .msg-label.end { text-anchor: end; }
svg.seq .head { fill: #1e3a8a; }
svg.seq .head-dup { fill: #0f766e; }
svg.seq .head-open { fill: none; stroke: #6b7280; stroke-width: 1.5; }
svg.seq .msg.duplicate .line { stroke: #0f766e; stroke-dasharray: 6 3; }
svg.seq .msg.duplicate .msg-label, svg.seq .msg.duplicate .send { fill: #0f766e; }
svg.seq .badge rect { fill: #0f766e; stroke: none; }
svg.seq .badge text { fill: #fff; font-size: 10px; text-anchor: middle; font-weight: 700; }
svg.seq .msg.inflight .line { stroke: #6b7280; stroke-dasharray: 5 4; }
svg.seq .msg.inflight .msg-label, svg.seq .msg.inflight .send { fill: #6b7280; }
svg.seq .msg.dropped .line, svg.seq .msg.lost .line, svg.seq .msg.merged .line { stroke: var(--bad); }
svg.seq .msg.dropped .msg-label, svg.seq .msg.lost .msg-label { fill: var(--bad); }
svg.seq .msg.dropped .send, svg.seq .msg.lost .send { fill: var(--bad); }
svg.seq .cross line { stroke: var(--bad); stroke-width: 3; }
svg.seq .violation rect { fill: none; stroke: var(--bad); stroke-width: 2; }
svg.seq .violation text { fill: var(--bad); font-weight: 700; }
table#states { border-collapse: collapse; margin-top: 4px; font-size: 12.5px; }
table#states th, table#states td { border: 1px solid var(--line); padding: 4px 8px; vertical-align: top;
                                   text-align: left; }
table#states thead th { background: #f3f4f6; position: sticky; top: 0; }
table#states tr.is-fault .action { color: var(--fault); font-weight: 600; }
table#states tr.is-violating { background: #fef2f2; }
table#states tr.is-violating td.no a { color: var(--bad); }
table#states tr:target, table#states tr.selected { outline: 2px solid var(--sel); outline-offset: -2px;
                                                   background: #eff6ff; }
table#states td.no a { color: inherit; font-weight: 600; text-decoration: none; }
table#states .k { color: var(--muted); }
table#states .v.changed { background: #fef08a; border-radius: 3px; padding: 0 3px; font-weight: 600; }
table#states .v.false-part { background: #fecaca; color: #7f1d1d; border-radius: 3px; padding: 0 3px;
                             font-weight: 700; }
table#states .v.role-value { border-left: 6px solid transparent; padding-left: 4px; }
table#states .sent { color: var(--muted); }
table#states .violated { color: var(--bad); font-weight: 700; }
table#states td.is-down { background: repeating-linear-gradient(45deg, #f3f4f6 0 6px, #fff 6px 12px); }
table#states .down-badge { color: var(--bad); font-weight: 700; }
table#states details ul { margin: 4px 0 0; padding-left: 16px; }
footer { margin-top: 20px; color: var(--muted); }
"""

SCRIPT = """
(function () {
  function select(i, scroll) {
    var old = document.querySelectorAll('.selected');
    for (var k = 0; k < old.length; k++) old[k].classList.remove('selected');
    var row = document.getElementById('step-' + i), g = document.getElementById('d-step-' + i);
    if (row) { row.classList.add('selected'); if (scroll) row.scrollIntoView({block: 'nearest'}); }
    if (g) g.classList.add('selected');
    try { history.replaceState(null, '', '#step-' + i); } catch (e) {}
  }
  var names = ['data-step', 'data-step-delivered', 'data-step-dropped', 'data-step-lost',
               'data-step-merged', 'data-step-sent'];
  document.querySelector('svg.seq').addEventListener('click', function (ev) {
    var el = ev.target.closest('[data-step],[data-step-sent]');
    if (!el) return;
    for (var k = 0; k < names.length; k++) {
      if (el.hasAttribute(names[k])) { ev.preventDefault(); select(el.getAttribute(names[k]), true); return; }
    }
  });
  var rows = document.querySelectorAll('#states tr[data-step]');
  for (var k = 0; k < rows.length; k++) {
    rows[k].addEventListener('click', function () { select(this.getAttribute('data-step'), false); });
  }
  var m = /^#step-(\\d+)$/.exec(location.hash);
  if (m) select(m[1], true);
})();
"""


def _legend(view: View, colours: dict[str, str]) -> str:
    items = [f'<span><span class="sw" style="background:{c}"></span>{escape(r)}</span>' for r, c in colours.items()]
    status = {m.status for m in view.messages}
    kinds = {s.action.get("kind") for s in view.steps}
    for shown, text in ((status & {"delivered"}, "\u2192 delivered"),
                        (status & {"duplicate"}, "x2 delivered, a copy stays in flight"),
                        (status & {"dropped", "lost", "merged"}, "\u2192\u2717 dropped or lost"),
                        (status & {"inflight"}, "\u2013\u2013\u25b7 still in flight"),
                        (kinds & {"crash"}, "\u2717 crash"), (kinds & {"restart"}, "\u25cb restart"),
                        (any(view.down_at), "\u2592 down"),
                        (kinds & {"timeout", "action"}, "\u25c6 timeout or action")):
        if shown:
            items.append(f"<span>{text}</span>")
    return '<div class="legend">' + "".join(items) + "</div>"


def render_html(trace: Trace) -> str:
    """The whole report page; the same trace always gives the same bytes."""
    view = analyse(trace)
    colours = role_colours(view)
    meta = trace.meta
    v = view.violation
    spec = str(meta.get("spec") or "trace")
    n = len(view.steps) - 1
    facts = [spec] + ([f"model {meta['model']}"] if meta.get("model") else [])
    if v is not None:
        title = f'<span class="prop">{escape(v.property)}</span> violated'
        facts += [v.kind] if v.kind else []
    else:
        title = escape(str(meta.get("verdict") or "trace"))
    facts.append(f"{n} step" + ("" if n == 1 else "s"))
    plain_title = (f"{v.property} violated" if v is not None else str(meta.get("verdict") or "trace")) + f" - {spec}"
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             f"<title>{escape(plain_title)}</title>", f"<style>{CSS}</style></head><body>",
             f"<header><h1>{title}</h1>", f'<p class="meta">{escape(SEP.join(facts))}</p>']
    if v is not None and v.explanation:
        parts.append(f'<p class="false">false at step {v.step}: <code>{escape(v.explanation)}</code></p>')
    parts.append("</header>")
    parts.append(f'<section class="diagram">{render_svg(view)}</section>')
    parts.append(_legend(view, colours))
    parts.append("<h2>States</h2>")
    parts.append('<p class="meta">Each row is the state after the step; changed values are highlighted. '
                 "Click a step in the diagram to select its row.</p>")
    parts.append(_table(view, colours))
    footer = []
    if trace.loop is not None:
        footer.append(f"<p>The run loops back to step {trace.loop}.</p>")
    if meta.get("replay"):
        footer.append(f"<p>Show it again: <code>{escape(str(meta['replay']))}</code></p>")
    parts.append("<footer>" + "".join(footer) + "</footer>")
    parts.append(f"<script>{SCRIPT}</script>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
