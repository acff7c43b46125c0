"""The state graph of a small model as Graphviz DOT, the counterexample path highlighted.

Every reachable state is a node labelled with the values that differ from the initial
state; every step is an edge labelled with its action. The graph is drawn breadth-first
and cut at `LIMIT` states (a picture of thousands of nodes helps nobody), or earlier at
`--max-states`/`--max-depth`: a state whose steps are not all drawn has a dashed border,
the graph's caption says where it was cut, and the counterexample's states are always in.
"""
from __future__ import annotations

from ..trace import describe_action, fmt_value

LIMIT = 3000


def _label(model, s, init_itf) -> str:
    cur = model.state_itf(s)
    parts = []
    for k, v in cur.items():
        if k == "network":
            n = sum(c for _, c in v.get("#map", []))
            parts.append(f"in flight: {n}")
            continue
        if v != init_itf.get(k):
            parts.append(f"{k}={fmt_value(v)}")
    return "\\n".join(parts) or "initial"


def _esc(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\\\\n", "\\n")


def state_graph_dot(model, highlight: list[tuple] | None = None, *, max_states: int | None = None,
                    max_depth: int | None = None) -> tuple[str, str | None]:
    """The DOT text, and None or a sentence saying where the graph was cut."""
    cap = LIMIT if max_states is None else min(LIMIT, max_states)
    init = model.init_states()
    ids: dict[tuple, int] = {}
    order: list[tuple] = []
    depth: list[int] = []
    edges: list[tuple[int, int, str]] = []
    partial: set[int] = set()          # states with steps not drawn

    def add(t, d) -> int:
        ids[t] = len(order)
        order.append(t)
        depth.append(d)
        return ids[t]

    for s in init:
        if s not in ids:
            if len(order) >= cap:
                break
            add(s, 0)
    cut = len(set(init)) > len(order)
    i = 0
    while i < len(order):
        s = order[i]
        if max_depth is not None and depth[i] >= max_depth:
            partial.add(i)
            i += 1
            continue
        for lab, t in model.successors_labeled(s):
            if t not in ids:
                if len(order) >= cap:
                    partial.add(i)
                    cut = True
                    continue
                add(t, depth[i] + 1)
            edges.append((i, ids[t], describe_action(model.action_itf(lab, s, t))))
        i += 1
    if highlight:                      # the counterexample is drawn whole, wherever the cut fell
        drawn = {(a, b) for a, b, _ in edges}
        for s in highlight:
            if s not in ids:
                partial.add(add(s, -1))
        for a, b in zip(highlight, highlight[1:]):
            if (ids[a], ids[b]) not in drawn:
                lab = next((l for l, t in model.successors_labeled(a) if t == b), None)
                if lab is not None:
                    edges.append((ids[a], ids[b], describe_action(model.action_itf(lab, a, b))))
    note = None
    if partial:
        why = []
        if cut:
            why.append(f"at {cap:,} states" + (" (the most drawn)" if cap == LIMIT else " (--max-states)"))
        if max_depth is not None and any(depth[k] >= max_depth for k in partial):
            why.append(f"at depth {max_depth} (--max-depth)")
        note = (f"the state graph is cut {' and '.join(why) or 'short'}: {len(order):,} states drawn; "
                f"a dashed state has steps not drawn")
    init_itf = model.state_itf(init[0])
    path_nodes: set[int] = set()
    path_edges: set[tuple[int, int]] = set()
    if highlight:
        hid = [ids[s] for s in highlight if s in ids]
        path_nodes = set(hid)
        path_edges = set(zip(hid, hid[1:]))
    out = ["digraph states {", '  rankdir=TB;', '  node [shape=box, fontsize=9, fontname="monospace"];',
           '  edge [fontsize=8, fontname="monospace"];']
    for s, n in sorted(ids.items(), key=lambda kv: kv[1]):
        attrs = [f'label="{_esc(_label(model, s, init_itf))}"']
        if n < len(init):
            attrs.append("peripheries=2")
        if n in path_nodes:
            attrs.append('color=red, penwidth=2')
        if n in partial:
            attrs.append("style=dashed")
        out.append(f"  s{n} [{', '.join(attrs)}];")
    seen = set()
    for a, b, lab in edges:
        key = (a, b, lab)
        if key in seen:
            continue
        seen.add(key)
        attrs = [f'label="{_esc(lab)}"']
        if (a, b) in path_edges:
            attrs.append("color=red, penwidth=2")
        out.append(f"  s{a} -> s{b} [{', '.join(attrs)}];")
    if note:
        out.append(f'  label="{_esc(note)}"; labelloc=b; fontsize=9;')
    out.append("}")
    return "\n".join(out) + "\n", note


def dot_for(spec_path: str, model_name: str | None, defines: list[str], res, *,
            max_states: int | None = None, max_depth: int | None = None) -> tuple[str, str | None]:
    """The graph of a checked model (its counterexample highlighted) and the note saying
    where it was cut, if it was."""
    from ..api import load_model
    model = load_model(spec_path, model_name, defines)
    return state_graph_dot(model, res.search.states if res is not None else None,
                           max_states=max_states, max_depth=max_depth)
