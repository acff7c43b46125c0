"""Matching copies of messages from send to delivery, in the cases the fixtures do not cover."""
from __future__ import annotations

from checker.report.common import analyse
from checker.report.html import render_html
from checker.trace import Step, Trace

PROCS = [{"kind": "Node", "id": 1}, {"kind": "Node", "id": 2}]
M = {"type": "Ping"}


def env(src=1, dst=2, msg=M):
    return {"src": src, "dst": dst, "msg": msg}


def net(*pairs):
    return {"#map": [[e, c] for e, c in pairs]}


def trace(steps, vars_=("action", "network"), **meta):
    m = {"spec": "T", "processes": PROCS, "process_fields": {}}
    m.update(meta)
    return Trace(m, list(vars_), [Step(i, a, s) for i, (a, s) in enumerate(steps)])


def fates(t):
    return [(m.sent, m.end, m.status, m.copy) for m in analyse(t).messages]


def test_copies_of_one_envelope_are_taken_first_sent_first():
    t = trace([({"kind": "init", "sent": []}, {"network": net()}),
               ({"kind": "timeout", "proc": 1, "sent": [env()]}, {"network": net((env(), 1))}),
               ({"kind": "timeout", "proc": 1, "sent": [env()]}, {"network": net((env(), 2))}),
               ({"kind": "deliver", **env(), "sent": []}, {"network": net((env(), 1))}),
               ({"kind": "drop", **env(), "sent": []}, {"network": net()})])
    assert fates(t) == [(1, 3, "delivered", False), (2, 4, "dropped", False)]


def test_duplicate_that_delivers_and_keeps_the_copy():
    t = trace([({"kind": "init", "sent": []}, {"network": net()}),
               ({"kind": "timeout", "proc": 1, "sent": [env()]}, {"network": net((env(), 1))}),
               ({"kind": "duplicate", **env(), "sent": []}, {"network": net((env(), 1))})])
    assert fates(t) == [(1, None, "inflight", False), (1, 2, "duplicate", False)]


def test_duplicate_that_puts_a_second_copy_in_flight():
    t = trace([({"kind": "init", "sent": []}, {"network": net()}),
               ({"kind": "timeout", "proc": 1, "sent": [env()]}, {"network": net((env(), 1))}),
               ({"kind": "duplicate", **env(), "sent": []}, {"network": net((env(), 2))}),
               ({"kind": "deliver", **env(), "sent": []}, {"network": net((env(), 1))})])
    assert fates(t) == [(1, 3, "delivered", False), (2, None, "inflight", True)]


def test_messages_to_a_crashed_process_are_lost():
    t = trace([({"kind": "init", "sent": []}, {"network": net(), "down": {"#set": []}}),
               ({"kind": "timeout", "proc": 1, "sent": [env()]}, {"network": net((env(), 1)), "down": {"#set": []}}),
               ({"kind": "crash", "proc": 2, "sent": []}, {"network": net(), "down": {"#set": [2]}})],
              vars_=("action", "network", "down"))
    v = analyse(t)
    assert fates(t) == [(1, 2, "lost", False)]
    assert v.down_at == [frozenset(), frozenset(), frozenset({1})]


def test_a_set_network_merges_identical_envelopes():
    s = {"#set": [env()]}
    t = trace([({"kind": "init", "sent": []}, {"network": {"#set": []}}),
               ({"kind": "timeout", "proc": 1, "sent": [env()]}, {"network": s}),
               ({"kind": "timeout", "proc": 1, "sent": [env()]}, {"network": s})])
    assert fates(t) == [(1, None, "inflight", False), (2, 2, "merged", False)]


def test_without_a_network_variable_the_actions_decide():
    t = trace([({"kind": "init", "sent": [env()]}, {}),
               ({"kind": "deliver", **env(), "sent": [env(2, 1, {"type": "Pong"})]}, {}),
               ({"kind": "partition", "sides": [[1], [2]], "sent": []}, {}),
               ({"kind": "heal", "sent": []}, {})], vars_=("action",))
    v = analyse(t)
    assert fates(t) == [(0, 1, "delivered", False), (1, None, "inflight", False)]
    assert v.partition_at == [None, None, [[1], [2]], None]


def test_messages_in_flight_initially_start_at_step_zero():
    t = trace([({"kind": "init", "sent": []}, {"network": net((env(), 2))}),
               ({"kind": "deliver", **env(), "sent": []}, {"network": net((env(), 1))})])
    assert fates(t) == [(0, 1, "delivered", False), (0, None, "inflight", False)]


def test_lanes_from_process_fields_when_meta_has_none():
    steps = [({"kind": "init"}, {"Node.role": {"#map": [[2, "Leader"], [1, "Follower"]]}})]
    t = Trace({"spec": "T"}, ["action", "Node.role"], [Step(0, a, s) for a, s in steps])
    v = analyse(t)
    assert [(ln.kind, ln.id) for ln in v.lanes] == [("Node", 1), ("Node", 2)]
    assert [s.value for s in v.roles[1]] == ["Leader"]
    assert 'class="lane" data-proc="1"' in render_html(t)


def test_a_trace_with_no_processes_still_renders():
    t = Trace({"spec": "Globals"}, ["action", "x"],
              [Step(0, {"kind": "init"}, {"x": 0}), Step(1, {"kind": "action", "name": "Inc", "params": {}}, {"x": 1})])
    page = render_html(t)
    assert 'data-lanes="0"' in page and 'class="event" data-kind="action" data-step="1"' in page
