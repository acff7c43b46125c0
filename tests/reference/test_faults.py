"""Fault scripts: what parses, and the one-line reasons for what does not."""
from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from reference.drivers.faults import FaultEvent, format_event, parse, parse_time


def test_the_documented_example():
    events = parse("2s kill leader; 4s partition 1,2|3,4,5; 7s heal; 8s pause 3 for 3s; "
                   "9s restart 1", nodes=5)
    assert events == [
        FaultEvent(2.0, "kill", "leader"),
        FaultEvent(4.0, "partition", sides=((1, 2), (3, 4, 5))),
        FaultEvent(7.0, "heal"),
        FaultEvent(8.0, "pause", 3, duration=3.0),
        FaultEvent(9.0, "restart", 1)]
    assert [e.describe() for e in events] == [
        "2s kill leader", "4s partition 1,2|3,4,5", "7s heal", "8s pause 3 for 3s", "9s restart 1"]


def test_times_newlines_order_and_spacing():
    events = parse("1.5s  isolate   leader\n500ms restart all;;  ", nodes=3)
    assert [(e.at, e.action, e.target) for e in events] == [(0.5, "restart", "all"),
                                                            (1.5, "isolate", "leader")]
    assert parse_time(".5s") == 0.5 and parse_time("250ms") == 0.25
    assert parse(None) == [] and parse("") == []
    assert parse("1s partition 3 , 1 | 2") == [FaultEvent(1.0, "partition", sides=((1, 3), (2,)))]


@pytest.mark.parametrize("script,reason", [
    ("2 kill 1", "fault 1 '2 kill 1': bad time '2', expected e.g. '2s', '1.5s' or '500ms'"),
    ("1s kill 1; 2s explode 2", "fault 2 '2s explode 2': unknown action 'explode' (known: kill, "
                                "restart, pause, partition, isolate, heal)"),
    ("1s kill", "fault 1 '1s kill': expected 'kill NODE', e.g. 'kill 2'"),
    ("1s kill 9", "fault 1 '1s kill 9': node 9 does not exist (nodes are 1..5)"),
    ("1s kill bob", "fault 1 '1s kill bob': bad node 'bob', expected a node id or 'leader'"),
    ("1s restart leader", "fault 1 '1s restart leader': bad node 'leader', expected a node id or 'all'"),
    ("1s pause 2", "fault 1 '1s pause 2': expected 'pause NODE for TIME', e.g. 'pause 3 for 2s'"),
    ("1s pause 2 for x", "fault 1 '1s pause 2 for x': bad time 'x', expected e.g. '2s', '1.5s' or '500ms'"),
    ("1s partition 1,2", "fault 1 '1s partition 1,2': bad partition '1,2', expected sides like '1,2|3,4,5'"),
    ("1s partition 1,2|3", "fault 1 '1s partition 1,2|3': bad partition '1,2|3': node 4 is on no side"),
    ("1s partition 1,2|2,3,4,5", "fault 1 '1s partition 1,2|2,3,4,5': bad partition '1,2|2,3,4,5': "
                                 "node 2 is on two sides"),
    ("1s partition 1,|2,3,4,5", "fault 1 '1s partition 1,|2,3,4,5': bad partition '1,|2,3,4,5': an "
                                "empty side or a stray ','"),
    ("1s heal now", "fault 1 '1s heal now': 'heal' takes no arguments, got 'now'"),
    ("kill", "fault 1 'kill': expected TIME ACTION, e.g. '2s kill leader'"),
])
def test_bad_scripts_say_what_is_wrong_in_one_line(script, reason):
    with pytest.raises(ValueError) as info:
        parse(script, nodes=5)
    assert str(info.value) == reason


@given(st.text(alphabet="0123456789sm .,|;:killeaderpartitionhealrestartpausefor", max_size=40))
@settings(max_examples=200, deadline=None, database=None, derandomize=True)
def test_parsing_never_crashes_and_round_trips(text):
    try:
        events = parse(text, nodes=5)
    except ValueError as e:
        assert "\n" not in str(e) and str(e).startswith("fault ")
        return
    again = parse("; ".join(format_event(e) for e in events), nodes=5)
    assert again == events
