"""`elect run`: run_main(argv) as the CLI calls it."""
from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest

from reference.drivers.run import run_main

BRIEF = "3s kill leader; 6s partition 1,2|3,4,5; 8s heal"


def call(argv):
    out, err = io.StringIO(), io.StringIO()
    code = run_main(argv, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("argv,message", [
    (["rafft"], "elect run: error: unknown protocol 'rafft' (known: bully, paxos, raft, ring)\n"),
    (["raft:nope"], "elect run: error: unknown variant 'nope' of raft (known: raft, "
                    "raft:volatile-vote, raft:volatile-term, raft:double-vote)\n"),
    (["raft", "--nodes", "0"], "elect run: error: --nodes must be between 1 and 64, got 0\n"),
    (["raft", "--nodes", "five"], "elect run: error: argument --nodes: invalid int value: 'five'\n"),
    (["raft", "--duration", "-1"], "elect run: error: --duration must be positive seconds, got -1\n"),
    (["raft", "--faults", "3s kill leader; 4s partition 1|2"],
     "elect run: error: fault 2 '4s partition 1|2': bad partition '1|2': node 3 is on no side\n"),
    (["raft", "--duration", "5", "--faults", "6s heal"],
     "elect run: error: fault '6s heal' comes after the end of the run (--duration 5)\n"),
    ([], "elect run: error: the following arguments are required: ALGO[:VARIANT]\n"),
    (["raft", "--bogus"], "elect run: error: unrecognized arguments: --bogus\n"),
])
def test_bad_arguments_are_one_line_and_exit_2(argv, message):
    assert call(argv) == (2, "", message)


def test_help(capsys):
    assert run_main(["--help"]) == 0
    assert "usage: elect run" in capsys.readouterr().out


def test_sim_run_prints_elections_and_a_summary(tmp_path):
    trace = tmp_path / "raft.jsonl"
    code, out, err = call(["raft", "--nodes", "5", "--duration", "10", "--faults", BRIEF,
                           "--sim", "--trace", str(trace)])
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == "elect run raft: 5 nodes on the simulator, 10 s, seed 0"
    assert lines[1] == f"faults: {BRIEF}"
    assert lines[2].split() == ["0.170s", "elected", "term", "1", "leader", "3"]
    assert lines[3].split() == ["3.000s", "fault", "kill", "leader", "(node", "3)"]
    assert "summary" in lines
    assert any(line.startswith("  leaders per term: term 1: node 3;") for line in lines)
    assert any("crash of node 3 (the leader)" in line for line in lines)
    assert "  safety: OneLeaderPerTerm held over" in out
    assert f"  trace: {trace} (" in out
    header = json.loads(trace.read_text().splitlines()[0])
    assert header["protocol"] == "raft" and header["driver"] == "sim"
    # the same seed gives the same run, byte for byte
    again = tmp_path / "again.jsonl"
    call(["raft", "--nodes", "5", "--duration", "10", "--faults", BRIEF, "--sim", "--trace", str(again)])
    assert again.read_bytes() == trace.read_bytes()


def test_sim_run_of_a_broken_variant_exits_10(tmp_path):
    code, out, _ = call(["bully:no-answer-wait", "--sim", "--duration", "2",
                         "--trace", str(tmp_path / "b.jsonl")])
    assert code == 10
    assert "  safety: OneLiveLeader violated: nodes" in out
    assert "  note: Bully assumes a synchronous network" in out


def test_default_trace_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, _ = call(["ring:lcr", "--nodes", "4", "--duration", "1", "--sim", "--seed", "2"])
    assert code == 0
    path = Path("traces/recorded/ring/sim-lcr-n4-seed2.jsonl")
    assert path.exists() and f"  trace: {path} (" in out


def _our_node_processes():
    me, found = os.getpid(), []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == me and "reference.drivers.net" in cmd:
            found.append(int(d.name))
    return found


@pytest.mark.network
def test_the_readme_command_on_real_processes(tmp_path):
    trace = tmp_path / "raft-net.jsonl"
    code, out, err = call(["raft", "--nodes", "5", "--duration", "10", "--faults", BRIEF,
                           "--trace", str(trace)])
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == "elect run raft: 5 nodes on 127.0.0.1, one process per node, 10 s, seed 0"
    elected = [line for line in lines if " elected " in line]
    assert float(elected[0].split("s")[0]) < 2.0
    assert any(" fault " in line and "kill leader (node " in line for line in lines)
    assert any("partition 1,2|3,4,5" in line for line in lines)
    assert "  safety: OneLeaderPerTerm held over" in out
    records = [json.loads(line) for line in trace.read_text().splitlines()]
    assert records[0]["header"] and records[0]["driver"] == "net"
    kinds = {r["input"]["kind"] for r in records[1:]}
    assert {"start", "receive", "timer", "crash", "partition", "heal", "drop"} <= kinds, out
    assert _our_node_processes() == []


RECORDED = Path(__file__).resolve().parents[2] / "traces" / "recorded"


@pytest.mark.parametrize("algo,duration,name", [
    ("raft", "0.3", "raft/sim-default-n3-seed0.jsonl"),
    ("paxos", "0.3", "paxos/sim-default-n3-seed0.jsonl"),
    ("bully", "0.6", "bully/sim-default-n3-seed0.jsonl"),
    ("ring:lcr", "0.2", "ring/sim-lcr-n3-seed0.jsonl")])
def test_the_example_traces_are_what_the_code_records(tmp_path, algo, duration, name):
    out = tmp_path / "t.jsonl"
    assert call([algo, "--nodes", "3", "--duration", duration, "--sim", "--trace", str(out)])[0] == 0
    assert out.read_text() == (RECORDED / name).read_text()


def test_the_example_counterexample_trace_replays(tmp_path):
    from reference.drivers.sim import read_trace, replay, schedule_from_trace
    header, records = read_trace(RECORDED / "raft" / "volatile-vote-counterexample.jsonl")
    sim = replay("raft:volatile-vote", 3, schedule_from_trace(records))
    assert sim.violation == ("OneLeaderPerTerm violated: nodes 1 and 2 were both elected "
                             "leader in term 1")
    assert sim.write_trace(tmp_path / "c.jsonl").read_text() == \
        (RECORDED / "raft" / "volatile-vote-counterexample.jsonl").read_text()


def test_an_unwritable_trace_is_a_usage_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    code, _, err = call(["raft", "--sim", "--duration", "0.1", "--trace", str(blocker / "t.jsonl")])
    assert code == 2 and err.startswith("elect run: error: cannot write the trace ")
