"""The state graph of a small model as Graphviz DOT, the counterexample path highlighted.

Every reachable state is a node labelled with the values that differ from the initial
state; every step is an edge labelled with its action. Above `LIMIT` states the graph is
refused (a picture of thousands of nodes helps nobody), with a message saying so.
"""
from __future__ import annotations

from ..diagnostics import Diagnostic, SpecError
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


def state_graph_dot(model, highlight: list[tuple] | None = None) -> str:
    init = model.init_states()
    ids: dict[tuple, int] = {}
    order: list[tuple] = []
    edges: list[tuple[int, int, str]] = []
    for s in init:
        if s not in ids:
            ids[s] = len(order)
            order.append(s)
    i = 0
    while i < len(order):
        s = order[i]
        for lab, t in model.successors_labeled(s):
            if t not in ids:
                if len(order) >= LIMIT:
                    raise SpecError(Diagnostic(
                        "E415", f"the state graph has more than {LIMIT:,} states: too many to draw", None,
                        ["draw a smaller model (fewer nodes, a lower bound), or use `elect show --html` "
                         "for the counterexample alone"]))
                ids[t] = len(order)
                order.append(t)
            edges.append((ids[s], ids[t], describe_action(model.action_itf(lab, s, t))))
        i += 1
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
    out.append("}")
    return "\n".join(out) + "\n"


def write_dot(spec_path: str, model_name: str | None, defines: list[str], path: str, res) -> None:
    from ..api import load_model
    model = load_model(spec_path, model_name, defines)
    text = state_graph_dot(model, res.search.states if res is not None else None)
    with open(path, "w") as f:
        f.write(text)
