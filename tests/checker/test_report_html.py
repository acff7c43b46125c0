"""The HTML report: its diagram, read back from the page's DOM, must tell the trace's story.

`check_report_dom(trace, dom)` is the contract. It takes the trace and the HTML of the
page (as written, or as dumped by a browser after its script ran) and checks, from the
trace alone and not from the renderer's own bookkeeping:
- one `.lane` per process of meta["processes"], in order;
- one `.step` row in the diagram and one `tr#step-N` in the table per state;
- every `.msg` arrow starts at a step that sent that envelope and ends, if it ends, at a
  deliver / duplicate / drop step of the same envelope, later; every such step has its
  one arrow; copies of an envelope are taken in the order they were sent; arrows left
  open are exactly the copies in the final `network`;
- one `.fault` mark per fault step (crash, restart, partition, heal, tick, drop,
  duplicate), of that kind, on that process;
- one `.event` per timeout; the role segments along each lane agree with the role field;
  the down bands agree with `down`; the violation is marked at its step.

The tests run it on the fixtures and on every counterexample shipped under
traces/counterexamples/, on the page as written and in headless Chromium (which also
saves a screenshot next to the page in the test's tmp directory).
"""
from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from checker.report.html import render_html
from checker.trace import FAULT_KINDS, Trace, fmt_value, read_itf

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).parent / "fixtures"
ROLE_FIELDS = ("role", "status", "state")


def report_traces() -> list[Path]:
    """The hand-written fixtures, then every shipped counterexample."""
    shipped = sorted((ROOT / "traces" / "counterexamples").glob("*/*.itf.json"))
    return sorted(FIXTURES.glob("*.itf.json")) + shipped


def _id(p: Path) -> str:
    return p.name if p.parent == FIXTURES else f"{p.parent.name}/{p.name}"


# ---- reading the page ------------------------------------------------------------------

class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, {k: v or "" for k, v in attrs}))

    handle_startendtag = handle_starttag


def elements(dom: str) -> list[tuple[str, dict[str, str]]]:
    p = _Elements()
    p.feed(dom)
    return p.found


def having(found, cls: str) -> list[dict[str, str]]:
    return [a for _, a in found if cls in a.get("class", "").split()]


# ---- what the trace says ---------------------------------------------------------------

def _key(v: Any) -> str:
    return json.dumps(v, sort_keys=True)


def _map(v: Any) -> dict[str, Any]:
    return {_key(k): x for k, x in v.get("#map", [])} if isinstance(v, dict) else {}


def _members(v: Any) -> list[Any]:
    return list(v.get("#set", [])) if isinstance(v, dict) else []


def _env_key(src: Any, dst: Any, msg: Any) -> str:
    return _key([fmt_value(src), fmt_value(dst), fmt_value(msg)])


def _network(state: dict[str, Any]) -> Counter | None:
    net = state.get("network")
    if not isinstance(net, dict) or "#map" not in net:
        return None
    if not all(isinstance(e, dict) and {"src", "dst", "msg"} <= set(e) for e, _ in net["#map"]):
        return None                # not a map from envelope to copies (a fifo network, say)
    return Counter({_env_key(e["src"], e["dst"], e["msg"]): c for e, c in net["#map"]})


def check_report_dom(trace: Trace, dom: str) -> None:
    """Assert that the report page `dom` draws `trace` (see the module docstring)."""
    found = elements(dom)
    steps = trace.steps
    n = len(steps)
    kinds = [s.action.get("kind") for s in steps]

    # lanes
    lanes = having(found, "lane")
    procs = trace.processes
    if not procs:                  # no list in #meta: the ids the process fields are keyed by
        seen = {(kind, _key(k)): k for var, kind in trace.process_fields.items() if var in trace.vars
                for s in steps for k, _ in (s.state[var].get("#map", []) if isinstance(s.state[var], dict) else [])}
        procs = [{"kind": kind, "id": seen[(kind, k)]}
                 for kind, k in sorted(seen, key=lambda kk: (kk[0], json.loads(kk[1]) if kk[1].isdigit() else 0, kk[1]))]
    assert [(a["data-kind"], a["data-proc"]) for a in lanes] == \
        [(str(p.get("kind", "")), fmt_value(p["id"])) for p in procs], "lanes are not the processes in order"
    lane_ids = [a["data-proc"] for a in lanes]

    # one row per step, in the diagram and in the table
    rows = having(found, "step")
    assert [a["data-step"] for a in rows] == [str(i) for i in range(n)]
    table_rows = [a for t, a in found if t == "tr" and "data-step" in a]
    assert [a.get("id") for a in table_rows] == [f"step-{i}" for i in range(n)]

    # messages
    msgs = having(found, "msg")
    initial = _network(steps[0].state) or Counter()
    sent_at: list[Counter] = []
    for i, s in enumerate(steps):
        c = Counter(_env_key(e["src"], e["dst"], e["msg"]) for e in s.action.get("sent") or [])
        if i == 0:
            c = c | initial
        if kinds[i] == "duplicate":
            a = s.action
            c[_env_key(a["src"], a["dst"], a["msg"])] += 1    # a step that copies may start a copy
        sent_at.append(c)
    taken = {}                                                 # step -> (kind, envelope key)
    for i, s in enumerate(steps):
        if kinds[i] in ("deliver", "drop", "duplicate"):
            a = s.action
            taken[i] = (kinds[i], _env_key(a["src"], a["dst"], a["msg"]))
    ends: Counter = Counter()
    order: dict[str, list[tuple[int, int]]] = {}
    open_arrows: Counter = Counter()
    for m in msgs:
        src, dst, label = m["data-src"], m["data-dst"], m["data-msg"]
        assert src in lane_ids and dst in lane_ids, f"arrow {m} between unknown lanes"
        env = _key([src, dst, label])
        s = int(m["data-step-sent"])
        assert 0 <= s < n and sent_at[s][env] > 0, f"arrow {src}->{dst} {label}: step {s} did not send it"
        end_attr = [k for k in ("data-step-delivered", "data-step-dropped") if k in m]
        if end_attr:
            e = int(m[end_attr[0]])
            assert s < e < n, f"arrow {src}->{dst} {label} ends at {e}, before it was sent at {s}"
            kind, key = taken.get(e, (None, None))
            assert key == env, f"step {e} does not take {src}->{dst} {label}"
            if end_attr[0] == "data-step-dropped":
                assert kind == "drop"
            else:
                assert kind in ("deliver", "duplicate")
                if kind == "deliver":
                    order.setdefault(env, []).append((e, s))
            ends[e] += 1
        elif "inflight" in m["class"].split():
            open_arrows[env] += 1
    for i in taken:
        copies = [m for m in msgs if m.get("data-step-sent") == str(i) and "copy" in m["class"].split()]
        assert ends[i] + len(copies) == 1, f"step {i} ({kinds[i]}) should have exactly one arrow, has {ends[i]}"
    for env, pairs in order.items():
        sends = [s for _, s in sorted(pairs)]
        assert sends == sorted(sends), f"copies of {env} not taken in the order they were sent"
    final = _network(steps[-1].state)
    if final is not None:
        assert open_arrows == +final, f"open arrows {dict(open_arrows)} != in flight at the end {dict(+final)}"

    # faults and events
    marks = Counter((a["data-kind"], a["data-step"], a.get("data-proc")) for a in having(found, "fault"))
    want = Counter()
    for i, k in enumerate(kinds):
        if k in FAULT_KINDS:
            proc = fmt_value(steps[i].action["proc"]) if k in ("crash", "restart") else None
            want[(k, str(i), proc)] += 1
    assert marks == want, f"fault marks {sorted(marks)} != fault steps {sorted(want)}"
    events = {(a["data-kind"], a["data-step"]) for a in having(found, "event")}
    assert {("timeout", str(i)) for i, k in enumerate(kinds) if k == "timeout"} <= events

    # role segments: contiguous, covering every step, each the role field's value
    pf = trace.process_fields
    for p in procs:
        pid = fmt_value(p["id"])
        names = {var.split(".", 1)[1]: var for var, kind in pf.items() if kind == p.get("kind") and "." in var}
        role = next((names[r] for r in ROLE_FIELDS if r in names), None)
        segs = [a for a in having(found, "role") if a["data-proc"] == pid]
        if role is None:
            assert not segs
            continue
        want_values = [fmt_value(_map(s.state[role]).get(_key(p["id"]))) for s in steps]
        got: list[str] = []
        for a in segs:
            assert int(a["data-from"]) == len(got), f"lane {pid}: role segments leave a gap"
            got += [a["data-role"]] * (int(a["data-to"]) - int(a["data-from"]) + 1)
        assert got == want_values, f"lane {pid}: roles {got} != {want_values}"

    # down bands
    if "down" in trace.vars:
        for p in procs:
            pid = fmt_value(p["id"])
            want_down = [i for i, s in enumerate(steps) if p["id"] in _members(s.state["down"])]
            got_down = [i for a in having(found, "down") if a.get("data-proc") == pid
                        for i in range(int(a["data-from"]), int(a["data-to"]) + 1)]
            assert got_down == want_down, f"lane {pid}: down at {got_down}, trace says {want_down}"

    # the violation
    v = trace.meta.get("violation")
    marked = having(found, "violation")
    if isinstance(v, dict):
        step = v.get("step", n - 1)
        assert [(a["data-step"], a["data-property"]) for a in marked] == [(str(step), v.get("property"))]
    else:
        assert len(marked) <= 1


# ---- tests without a browser -----------------------------------------------------------

@pytest.mark.parametrize("path", report_traces(), ids=_id)
def test_page_as_written_draws_the_trace(path):
    trace = read_itf(path)
    check_report_dom(trace, render_html(trace))


@pytest.mark.parametrize("path", report_traces(), ids=_id)
def test_page_is_self_contained(path):
    page = render_html(read_itf(path))
    assert page.startswith("<!DOCTYPE html>")
    for needle in ("<link", " src=", "@import", "url(http", "https://", "//cdn"):
        assert needle not in page
    assert page.count("http://") == page.count('xmlns="http://www.w3.org/2000/svg"')


def test_same_bytes_under_any_hash_seed(tmp_path):
    code = ("import sys; from checker.trace import read_itf; "
            "from checker.report import render_html, render_mermaid, render_text; "
            "t = read_itf(sys.argv[1]); "
            "sys.stdout.write(render_html(t) + render_mermaid(t) + render_text(t))")
    outs = []
    for seed in ("0", "12345"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        r = subprocess.run([sys.executable, "-c", code, str(FIXTURES / "bully_partition.itf.json")],
                           capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
        assert r.returncode == 0, r.stderr
        outs.append(r.stdout)
    assert outs[0] == outs[1]


def test_a_broken_drawing_is_caught():
    """The checker must be able to fail: remove one arrow, or move a crash, and it objects."""
    trace = read_itf(FIXTURES / "raft_split_brain.itf.json")
    page = render_html(trace)
    start = page.index('<g class="msg delivered"')
    end = page.index("</g>", start) + 4
    with pytest.raises(AssertionError, match="exactly one arrow"):
        check_report_dom(trace, page[:start] + page[end:])
    with pytest.raises(AssertionError, match="fault marks"):
        check_report_dom(trace, page.replace('data-kind="crash" data-step="4"', 'data-kind="crash" data-step="3"'))


# ---- in Chromium -----------------------------------------------------------------------

def chromium() -> str | None:
    return shutil.which("chromium") or (os.path.exists("/usr/bin/chromium") and "/usr/bin/chromium") or None


def _chromium_args(profile: Path) -> list[str]:
    return [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--hide-scrollbars", f"--user-data-dir={profile}"]


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", head[16:24])


CLICKS = """<script>
(function () {
  function selected() {
    var out = [], els = document.querySelectorAll('.selected');
    for (var k = 0; k < els.length; k++) out.push(els[k].tagName.toLowerCase() + ':' + els[k].getAttribute('data-step'));
    return out.sort().join(' ');
  }
  function click(el) { el.dispatchEvent(new MouseEvent('click', {bubbles: true, cancelable: true})); }
  var b = document.body;
  b.setAttribute('data-test-hash', selected());
  click(document.querySelector('#d-step-1 rect'));
  b.setAttribute('data-test-click-row', selected());
  var arrow = document.querySelector('.msg[data-step-delivered] .line');
  if (arrow) {
    click(arrow);
    b.setAttribute('data-test-click-arrow', selected() + ' <- ' + arrow.parentNode.getAttribute('data-step-delivered'));
  }
})();
</script>"""


def open_in_chromium(trace: Trace, out: Path, name: str = "report") -> tuple[str, dict[str, str]]:
    """Write the report to OUT/NAME.html and screenshot it to OUT/NAME.png. Return the DOM Chromium
    built for it and what a test script saw clicking: the page is loaded at the last step's anchor,
    then the script clicks step 1 in the diagram, then a delivered arrow, and notes what is
    selected after each on <body> (data-test-hash, data-test-click-row, data-test-click-arrow)."""
    page = out / f"{name}.html"
    html = render_html(trace)
    page.write_text(html)
    probe = out / f"{name}-clicks.html"
    probe.write_text(html.replace("</body>", CLICKS + "</body>"))
    url = probe.as_uri() + f"#step-{len(trace.steps) - 1}"
    height = 420 + 44 * len(trace.steps) + 90 * len(trace.steps)
    shot = out / f"{name}.png"
    dump = subprocess.Popen(_chromium_args(out / "profile-dom") + ["--dump-dom", url],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    snap = subprocess.Popen(_chromium_args(out / "profile-shot") +
                            [f"--screenshot={shot}", f"--window-size=1400,{height}", page.as_uri()],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        dom, _ = dump.communicate(timeout=90)
        snap.wait(timeout=90)
    finally:
        for p in (dump, snap):
            if p.poll() is None:
                p.kill()
                p.wait()
    assert dump.returncode == 0 and "</html>" in dom, "chromium --dump-dom gave no page"
    assert snap.returncode == 0 and shot.exists(), "chromium --screenshot wrote no file"
    assert _png_size(shot) == (1400, height)
    body = next(a for t, a in elements(dom) if t == "body")
    return dom, {k[len("data-test-"):]: v for k, v in body.items() if k.startswith("data-test-")}


@pytest.mark.skipif(chromium() is None, reason="chromium is not installed (Debian package 'chromium'; "
                                               "`make test` installs it through .ci/install-packages)")
@pytest.mark.parametrize("path", report_traces(), ids=_id)
def test_page_in_chromium_draws_the_trace(path, tmp_path):
    trace = read_itf(path)
    dom, seen = open_in_chromium(trace, tmp_path)
    check_report_dom(trace, dom)
    # the script ran: the step named in the address was selected in the table and the diagram,
    # then a click on step 1 in the diagram selected row 1, and a click on an arrow its delivery
    last = len(trace.steps) - 1
    assert seen["hash"] == f"g:{last} tr:{last}"
    assert seen["click-row"] == "g:1 tr:1"
    if "click-arrow" in seen:
        got, step = seen["click-arrow"].split(" <- ")
        assert got == f"g:{step} tr:{step}"
