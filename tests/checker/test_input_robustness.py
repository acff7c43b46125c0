"""Bad input files get one line naming the file and exit 2, never a traceback.

`elect conform` on recorded runs (JSONL) and `elect show` on ITF traces, each fed a copy
of a shipped trace with one field broken (written into tmp_path): huge integers, node ids
of the wrong type, malformed ITF metadata and actions, misspelled timers.
"""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from checker.cli import main

ROOT = Path(__file__).resolve().parents[2]
RAFT = str(ROOT / "spec" / "raft.elect")
R = ROOT / "traces" / "recorded" / "raft" / "sim-default-n3-seed0.jsonl"
ITF = ROOT / "traces" / "counterexamples" / "raft" / "OneLeaderPerTerm.itf.json"
BIG = "9" * 5000


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(err: str, path: Path) -> str:
    assert "Traceback" not in err, err
    assert err.count("\n") == 1 and err.startswith(f"error: {path}"), err
    return err


# ---- recorded runs (JSONL) for `elect conform` ---------------------------------------------

def records() -> list[dict]:
    return [json.loads(x) for x in R.read_text().splitlines()]


def write_jsonl(tmp_path: Path, recs: list, raw_lines: dict[int, str] | None = None) -> Path:
    lines = [json.dumps(r) for r in recs]
    for i, text in (raw_lines or {}).items():
        lines[i] = text
    p = tmp_path / "bad.jsonl"
    p.write_text("\n".join(lines) + "\n")
    return p


def conform_err(capsys, p: Path) -> str:
    code, out, err = run(capsys, "conform", RAFT, str(p))
    assert code == 2, (code, out, err)
    return one_line_error(err, p)


def first(recs: list, kind: str) -> int:
    return next(i for i, r in enumerate(recs) if r.get("input", {}).get("kind") == kind)


def test_conform_integer_with_more_than_4300_digits(tmp_path, capsys):
    recs = records()
    i = first(recs, "timer")
    line = json.dumps(recs[i]).replace('"term": ', f'"term": {BIG}, "x": ', 1)
    err = conform_err(capsys, write_jsonl(tmp_path, recs, {i: line}))
    assert f":{i + 1}:" in err and "digits" in err


def test_show_integer_with_more_than_4300_digits(tmp_path, capsys):
    d = itf()
    d["states"][0]["Node.term"]["#map"][0][1] = "@BIG@"
    p = tmp_path / "big.itf.json"
    p.write_text(json.dumps(d).replace('"@BIG@"', BIG))
    code, out, err = run(capsys, "show", str(p))
    assert code == 2 and "digits" in one_line_error(err, p)


@pytest.mark.parametrize("node,found", [([3], "a list"), ({"id": 3}, "an object")])
def test_conform_without_header_node_of_wrong_type(tmp_path, capsys, node, found):
    recs = records()[1:]                      # no header: nodes come from the records
    recs[3]["node"] = node
    err = conform_err(capsys, write_jsonl(tmp_path, recs))
    assert ":4:" in err and "'node'" in err and found in err


@pytest.mark.parametrize("mtype", [{}, 5])
def test_conform_send_effect_with_a_type_that_is_no_string(tmp_path, capsys, mtype):
    recs = records()
    i = next(i for i, r in enumerate(recs) if any(e.get("kind") == "send" for e in r.get("effects") or []))
    e = next(e for e in recs[i]["effects"] if e.get("kind") == "send")
    e["msg"]["type"] = mtype
    err = conform_err(capsys, write_jsonl(tmp_path, recs))
    assert f":{i + 1}:" in err and "msg" in err and "'type'" in err


@pytest.mark.parametrize("field,value,shown", [
    ("to", True, "true"), ("from", 3.0, "3.0"), ("node", True, "true"), ("node", 2.0, "2.0"),
])
def test_conform_node_ids_must_be_integers_or_strings(tmp_path, capsys, field, value, shown):
    recs = records()
    if field == "to":
        i = next(i for i, r in enumerate(recs) if any(e.get("kind") == "send" for e in r.get("effects") or []))
        next(e for e in recs[i]["effects"] if e.get("kind") == "send")["to"] = value
    elif field == "from":
        i = first(recs, "receive")
        recs[i]["input"]["from"] = value
    else:
        i = first(recs, "timer")
        recs[i]["node"] = value
    err = conform_err(capsys, write_jsonl(tmp_path, recs))
    assert f":{i + 1}:" in err and "node id" in err and f"found {shown}" in err


def test_conform_header_node_ids_are_checked(tmp_path, capsys):
    recs = records()
    recs[0]["nodes"] = [True, 2, 3]
    err = conform_err(capsys, write_jsonl(tmp_path, recs))
    assert ":1:" in err and "nodes[0]" in err


def test_conform_misspelled_timer_is_an_error(tmp_path, capsys):
    recs = records()
    last = next(r for r in reversed(recs) if r.get("node") == 1)
    recs.append({"seq": 99, "clock": recs[-1]["clock"] + 1, "node": 1,
                 "input": {"kind": "timer", "name": "electon"}, "state": last["state"], "effects": []})
    err = conform_err(capsys, write_jsonl(tmp_path, recs))
    assert f"line {len(recs)}" in err and "'electon'" in err and "election" in err and "heartbeat" in err


def test_conform_misspelled_input_kind_is_an_error(tmp_path, capsys):
    recs = records()
    last = next(r for r in reversed(recs) if r.get("node") == 1)
    recs.append({"seq": 99, "clock": recs[-1]["clock"] + 1, "node": 1,
                 "input": {"kind": "recieve", "from": 2, "msg": {"type": "Vote"}}, "state": last["state"],
                 "effects": []})
    err = conform_err(capsys, write_jsonl(tmp_path, recs))
    assert f"line {len(recs)}" in err and "unknown input kind 'recieve'" in err and "receive" in err


def test_conform_timer_declared_a_stutter_still_conforms(tmp_path, capsys):
    spec = tmp_path / "raft.elect"
    spec.write_text((ROOT / "spec" / "raft.elect").read_text())
    m = json.loads((ROOT / "spec" / "raft.map.json").read_text())
    m["inputs"]["timer electon"] = "stutter"
    (tmp_path / "raft.map.json").write_text(json.dumps(m))
    recs = records()
    last = next(r for r in reversed(recs) if r.get("node") == 1)
    recs.append({"seq": 99, "clock": recs[-1]["clock"] + 1, "node": 1,
                 "input": {"kind": "timer", "name": "electon"}, "state": last["state"], "effects": []})
    p = write_jsonl(tmp_path, recs)
    code, out, err = run(capsys, "conform", str(spec), str(p))
    assert code == 0 and out.startswith("conforms"), (out, err)


def test_conform_value_error_names_the_file(tmp_path, capsys):
    recs = records()
    i = first(recs, "timer")
    line = json.dumps(recs[i]).replace('"term": ', '"term": NaN, "x": ', 1)
    err = conform_err(capsys, write_jsonl(tmp_path, recs, {i: line}))
    assert f"line {i + 1}" in err and "state.term" in err and "NaN" in err


def test_conform_other_protocol_names_the_file(tmp_path, capsys):
    recs = records()
    recs[0]["protocol"] = "paxos"
    err = conform_err(capsys, write_jsonl(tmp_path, recs))
    assert "a run of 'paxos'" in err


def test_conform_kind_that_is_no_string(tmp_path, capsys):
    recs = records()
    recs[4]["input"]["kind"] = 5
    err = conform_err(capsys, write_jsonl(tmp_path, recs))
    assert ":5:" in err and "'input.kind' must be a string, found 5" in err


@pytest.mark.parametrize("raw,shown", [("null", "found null"), ("[1, 2]", "found a list"), ('"x"', 'found "x"')])
def test_conform_record_that_is_no_object(tmp_path, capsys, raw, shown):
    err = conform_err(capsys, write_jsonl(tmp_path, records(), {4: raw}))
    assert ":5:" in err and shown in err and "NoneType" not in err


# ---- ITF traces for `elect show` ---------------------------------------------------------------

def itf() -> dict:
    return json.loads(ITF.read_text())


def deliver_index(d: dict) -> int:
    return next(i for i, s in enumerate(d["states"]) if s["action"]["kind"] == "deliver")


def _processes_null(d):
    d["#meta"]["processes"] = None
    return "#meta.processes"


def _process_fields_list(d):
    d["#meta"]["process_fields"] = [1]
    return "#meta.process_fields"


def _process_fields_value(d):
    d["#meta"]["process_fields"] = {"Node.role": 5}
    return "process_fields.Node.role"


def _sent_true(d):
    d["states"][1]["action"]["sent"] = True
    return "state 1, action.sent"


def _sent_item(d):
    d["states"][1]["action"]["sent"] = [1]
    return "state 1, action.sent[0]"


def _deliver_no_msg(d):
    i = deliver_index(d)
    del d["states"][i]["action"]["msg"]
    return f"state {i}, action: a 'deliver' action needs 'msg'"


def _negative_count(d):
    i = next(i for i, s in enumerate(d["states"]) if s["network"]["#map"])
    d["states"][i]["network"]["#map"][0][1] = -1
    return f"state {i}, variable 'network'"


def _params_list(d):
    d["states"][1]["action"]["params"] = [1]
    return "state 1, action.params"


def _processes_item(d):
    d["#meta"]["processes"] = [{"kind": "Node"}]
    return "#meta.processes[0]"


def _bad_bigint(d):
    d["states"][1]["Node.term"]["#map"][0][1] = {"#bigint": "12x"}
    return "state 1, variable 'Node.term'"


BROKEN = [_processes_null, _process_fields_list, _process_fields_value, _sent_true, _sent_item,
          _deliver_no_msg, _negative_count, _params_list, _processes_item, _bad_bigint]


@pytest.mark.parametrize("fmt", [[], ["--format", "mermaid"], ["--html", "HTML"]], ids=["text", "mermaid", "html"])
@pytest.mark.parametrize("breaker", BROKEN, ids=[b.__name__[1:] for b in BROKEN])
def test_show_malformed_itf_is_one_line(tmp_path, capsys, breaker, fmt):
    d = itf()
    where = breaker(d)
    p = tmp_path / "bad.itf.json"
    p.write_text(json.dumps(d))
    html = tmp_path / "out.html"
    html.write_text("keep me")
    argv = ["show", str(p)] + [str(html) if x == "HTML" else x for x in fmt]
    code, out, err = run(capsys, *argv)
    assert code == 2, (code, err)
    assert where in one_line_error(err, p)
    assert html.read_text() == "keep me"       # nothing rendered, nothing written


def test_the_shipped_counterexamples_still_show(capsys):
    for p in sorted((ROOT / "traces" / "counterexamples").rglob("*.itf.json")):
        code, out, err = run(capsys, "show", str(p))
        assert code == 0 and out and not err, (p, err)


def test_itf_reader_names_json_types(tmp_path, capsys):
    p = tmp_path / "null.itf.json"
    p.write_text("null")
    code, _, err = run(capsys, "show", str(p))
    assert code == 2 and "found null" in one_line_error(err, p) and "NoneType" not in err
    d = itf()
    d["states"][1] = [1]
    p.write_text(json.dumps(d))
    code, _, err = run(capsys, "show", str(p))
    assert code == 2 and "state 1: expected an object, found a list" in one_line_error(err, p)


def test_untouched_trace_is_accepted_by_the_reader(tmp_path, capsys):
    d = copy.deepcopy(itf())
    p = tmp_path / "ok.itf.json"
    p.write_text(json.dumps(d))
    code, out, err = run(capsys, "show", str(p), "--format", "mermaid")
    assert code == 0 and not err
