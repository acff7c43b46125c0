"""`--checkpoint DIR` / `--resume DIR`: killed with SIGKILL, resumed, the same counts;
`--max-memory` and `--max-states` stop cleanly."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from checker.cli import main

ROOT = Path(__file__).resolve().parents[2]
RAFT = str(ROOT / "spec" / "raft.elect")
ARGS = [RAFT, "--no-symmetry"]                 # the default model: 31,315 states, 124,122 transitions
EXPECT = (31315, 124122)


def elect(*args, env=None, **kw):
    return subprocess.Popen([sys.executable, "-m", "checker.cli", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def kill_after_saves(directory: Path, seconds: str, saves: int) -> None:
    """Start a checkpointed run and SIGKILL it once it has saved `saves` times."""
    env = dict(os.environ, ELECT_CHECKPOINT_SECONDS=seconds)
    p = elect("check", *ARGS, "--checkpoint", str(directory), "--json", env=env)
    n = 0
    deadline = time.time() + 120
    try:
        for line in p.stderr:
            if line.startswith("checkpoint: saved"):
                n += 1
                if n >= saves:
                    p.send_signal(signal.SIGKILL)
                    break
            assert time.time() < deadline
        p.wait(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    meta = json.loads((directory / "meta.json").read_text())
    assert not meta["done"] and 0 < meta["distinct"] < EXPECT[0]


def resume(directory: Path) -> dict:
    p = elect("check", *ARGS, "--resume", str(directory), "--json")
    out, err = p.communicate(timeout=300)
    assert p.returncode == 0, err
    assert "checkpoint: resumed" in err
    return json.loads(out)


@pytest.mark.parametrize("seconds,saves", [
    ("0", 6),          # a checkpoint at the end of every level
    ("0.001", 12),     # every 1024 states: killed in the middle of a level
])
def test_sigkill_then_resume_gives_the_counts_of_one_run(tmp_path, seconds, saves):
    kill_after_saves(tmp_path / "ck", seconds, saves)
    out = resume(tmp_path / "ck")
    assert (out["distinct"], out["transitions"]) == EXPECT
    assert out["verdict"] == "holds" and out["depth"] == 17
    assert out["witnessed"] == {"LeaderInLaterTerm": 3, "SomeLeader": 3}


def test_resume_of_a_finished_search_reports_it_again(tmp_path, capsys):
    d = tmp_path / "ck"
    assert main(["check", RAFT, "--model", "volatile_vote", "--checkpoint", str(d), "--json",
                 "--out", str(tmp_path / "t1")]) == 10
    first = json.loads(capsys.readouterr().out)
    assert json.loads((d / "meta.json").read_text())["done"] is True       # finished at a violation
    assert main(["check", RAFT, "--model", "volatile_vote", "--resume", str(d), "--json",
                 "--out", str(tmp_path / "t2")]) == 10
    again = json.loads(capsys.readouterr().out)
    assert (again["distinct"], again["depth"], again["property"]) == (first["distinct"], first["depth"],
                                                                    first["property"])


def test_resume_refuses_another_search(tmp_path, capsys):
    d = tmp_path / "ck"
    assert main(["check", RAFT, "--model", "volatile_term", "--checkpoint", str(d), "--json",
                 "--out", str(tmp_path)]) == 10
    capsys.readouterr()
    assert main(["check", RAFT, "--model", "volatile_vote", "--resume", str(d), "--json"]) == 2
    assert "is of another search" in capsys.readouterr().err


def test_resume_without_a_directory_is_a_usage_error(tmp_path, capsys):
    assert main(["check", RAFT, "--resume", str(tmp_path / "nothing"), "--json"]) == 2
    assert "no checkpoint directory" in capsys.readouterr().err


def test_max_memory_stops_cleanly(tmp_path, capsys):
    code = main(["check", RAFT, "--no-symmetry", "--max-memory", "1", "--json", "--out", str(tmp_path)])
    out = json.loads(capsys.readouterr().out)
    assert code == 14 and out["verdict"] == "limit" and out["stopped"] == "max-memory"
    assert out["distinct"] < EXPECT[0]


def test_max_states_stops_and_says_so(tmp_path, capsys):
    code = main(["check", RAFT, "--no-symmetry", "--max-states", "5000", "--out", str(tmp_path)])
    text = capsys.readouterr().out
    assert code == 14
    assert "stopped by the state limit (--max-states) before a verdict" in text
    # the limit is looked at every 16 expanded states for a limit of 5,000 (tick_mask):
    # it stops within a few states of it, not at the end of a level
    assert "no violation in the 5,003 states explored, to depth 6" in text


def test_small_max_states_is_exact(tmp_path, capsys):
    code = main(["check", RAFT, "--model", "yardstick", "-D", "N=3", "--no-symmetry", "--max-states", "100",
                 "--json", "--out", str(tmp_path)])
    out = json.loads(capsys.readouterr().out)
    assert code == 14 and out["stopped"] == "max-states"
    assert (out["distinct"], out["depth"]) == (100, 4)


def test_ctrl_c_stops_at_a_consistent_point_and_resume_finishes(tmp_path):
    """SIGINT in the middle of a level: the run says what it covered, saves where it
    stopped (everything before `pos` expanded), and --resume gives the counts of one run."""
    env = dict(os.environ, ELECT_CHECKPOINT_SECONDS="0.001")
    d = tmp_path / "ck"
    p = elect("check", *ARGS, "--checkpoint", str(d), env=env)
    n = 0
    try:
        for line in p.stderr:
            if line.startswith("checkpoint: saved"):
                n += 1
                if n == 10:
                    p.send_signal(signal.SIGINT)
                    break
        out, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 14, err
    assert "stopped by Ctrl-C before a verdict: no violation in the" in out
    assert "Traceback" not in err and f"go on with --resume {d}" in err
    meta = json.loads((d / "meta.json").read_text())
    assert not meta["done"] and 0 < meta["distinct"] < EXPECT[0]
    res = resume(d)
    assert (res["distinct"], res["transitions"]) == EXPECT


class _Payload:
    """A pickle that would run code when loaded (a hostile or foreign checkpoint)."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("content", ["code", "empty dict", "bad seen", "bad frontier"])
def test_resume_of_a_damaged_checkpoint_is_a_one_line_error(tmp_path, capsys, content):
    import pickle
    d = tmp_path / "ck"
    assert main(["check", RAFT, "--model", "volatile_term", "--checkpoint", str(d), "--json",
                 "--out", str(tmp_path)]) == 10
    capsys.readouterr()
    marker = tmp_path / "ran"
    good = pickle.loads((d / "search.ckpt").read_bytes())
    data = {"code": {"format": 1, "seen": _Payload(marker)}, "empty dict": {"format": 1},
            "bad seen": dict(good, seen=b"xx"), "bad frontier": dict(good, frontier=None)}[content]
    (d / "search.ckpt").write_bytes(pickle.dumps(data))
    assert main(["check", RAFT, "--model", "volatile_term", "--resume", str(d), "--json"]) == 2
    err = capsys.readouterr().err
    assert "is damaged or not a checkpoint" in err and len(err.splitlines()) == 1
    assert not marker.exists()                      # nothing in the file was called


def test_checkpoint_does_not_overwrite_what_it_cannot_give_back(tmp_path, capsys):
    """--checkpoint into a directory holding another search's checkpoint, or an unfinished
    one of this search, is refused (it would be lost); a finished one of this search is
    simply written again."""
    d = tmp_path / "ck"
    assert main(["check", RAFT, "--model", "volatile_term", "--checkpoint", str(d), "--json",
                 "--out", str(tmp_path)]) == 10
    capsys.readouterr()
    assert main(["check", RAFT, "--model", "volatile_vote", "--checkpoint", str(d), "--json",
                 "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "holds the checkpoint of another search (model: saved 'volatile_term', now 'volatile_vote')" in err
    assert main(["check", RAFT, "--model", "volatile_term", "--checkpoint", str(d), "--json",
                 "--out", str(tmp_path)]) == 10          # finished: written again
    capsys.readouterr()
    meta = json.loads((d / "meta.json").read_text())
    (d / "meta.json").write_text(json.dumps(dict(meta, done=False)))
    assert main(["check", RAFT, "--model", "volatile_term", "--checkpoint", str(d), "--json",
                 "--out", str(tmp_path)]) == 2
    assert "holds an unfinished checkpoint of this search" in capsys.readouterr().err
