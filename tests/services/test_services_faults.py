"""The fault script of `elect run zookeeper|etcd`: parsed steps and one-line errors."""
from __future__ import annotations

import pytest

from reference.services.faults import Fault, FaultScriptError, parse


def test_steps_are_parsed_and_sorted():
    got = parse("5s pause leader for 4s; 1.5s kill client 2\n500ms restart server 1  # comment\n"
                "7s kill server leader; 8s pause candidate for 2s; 9s restart 3", clients=3, servers=3)
    assert [(f.at, f.action, f.target, f.which, f.duration) for f in got] == [
        (0.5, "restart", "server", 1, 0.0),
        (1.5, "kill", "client", 2, 0.0),
        (5.0, "pause", "client", "leader", 4.0),
        (7.0, "kill", "server", "leader", 0.0),
        (8.0, "pause", "client", "candidate", 2.0),
        (9.0, "restart", "client", 3, 0.0),
    ]
    assert got[2].describe() == "5s pause leader for 4s"


def test_empty_script():
    assert parse("", 3, 1) == [] and parse(" ; \n", 3, 1) == []


def test_script_from_a_file(tmp_path):
    f = tmp_path / "faults.txt"
    f.write_text("2s kill leader\n3s restart client 1\n")
    assert [x.action for x in parse(str(f), 3, 1)] == ["kill", "restart"]


def test_a_long_script_is_not_a_file_name():
    script = "; ".join(f"{t}s pause client 1 for 0.5s" for t in range(1, 40))
    assert len(parse(script, 3, 1)) == 39


def test_neither_script_nor_file():
    with pytest.raises(FaultScriptError) as e:
        parse("/nonexistent/faults.txt", 3, 1)
    assert str(e.value) == ("fault script: '/nonexistent/faults.txt' is neither a script (e.g. '5s kill leader') "
                            "nor a readable file (FileNotFoundError)")


@pytest.mark.parametrize("script, message", [
    ("1s kill leader; 5 kill leader",
     "fault script: step '5 kill leader': expected a time such as '5s' or '500ms', found '5'"),
    ("5s explode leader", "fault script: step '5s explode leader': expected pause, kill or restart, found 'explode'"),
    ("5s pause leader", "fault script: step '5s pause leader': a pause needs 'for TIME', e.g. '5s pause leader for 4s'"),
    ("5s kill client 7", "fault script: step '5s kill client 7': there is no client 7 (this run has clients 1..3)"),
    ("5s kill server 2", "fault script: step '5s kill server 2': there is no server 2 (this run has servers 1..1)"),
    ("5s restart leader", "fault script: step '5s restart leader': restart needs a number "
                          "(e.g. 'restart client 2'), not 'leader'"),
    ("5s kill everyone", "fault script: step '5s kill everyone': expected a target: leader, candidate, "
                         "client N, server N or server leader; found 'everyone'"),
    ("50s kill leader", "fault script: step '50s kill leader' is at 50s, after the run ends (--duration 10)"),
])
def test_errors_name_the_step(script, message):
    with pytest.raises(FaultScriptError) as e:
        parse(script, clients=3, servers=1, duration=10)
    assert str(e.value) == message


def test_fault_is_a_value():
    assert Fault(1.0, "kill", "client", 2) == Fault(1.0, "kill", "client", 2)
