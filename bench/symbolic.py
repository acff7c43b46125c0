"""Symbolic checking benchmark: seconds per BMC depth and per proof, for Raft at N = 3, 5, 7.

    python bench/symbolic.py [--depth K] [--sizes 3,5,7] [--json]

BMC runs the `default` model of spec/raft.elect (crash, restart, partition; it holds) to
depth K and reports the seconds each depth took to clear; `prove` checks
OneLeaderPerTerm with the spec's helper invariants (those present of
RAFT_HELPERS), and reports its seconds and verdict. Times are wall-clock seconds of
this process, encoding included.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from checker import symbolic as S  # noqa: E402
from checker.api import load_model, load_spec  # noqa: E402

SPEC = ROOT / "spec" / "raft.elect"
RAFT_HELPERS = ["CandidatesVoteForThemselves", "LeadersHaveQuorum", "VotesAreGranted", "GrantsInFlight",
                "OneVotePerTerm", "OneGrantPerTerm"]


def bench_bmc(n: int, depth: int) -> dict:
    t0 = time.perf_counter()
    ts = load_spec(SPEC)
    m = load_model(SPEC, "default", [f"N={n}"], ts=ts)
    enc = S.Encoder(ts, m.config, m, bitvec_depth=depth)
    t1 = time.perf_counter()
    res = S.bmc(enc, depth)
    return {"n": n, "encode": t1 - t0, "per_depth": res.per_depth, "total": time.perf_counter() - t0,
            "verdict": res.verdict, "actions": len(enc.acts)}


def bench_prove(n: int, max_term: int = 1) -> dict:
    t0 = time.perf_counter()
    ts = load_spec(SPEC)
    m = load_model(SPEC, "default", [f"N={n}", f"MAX_TERM={max_term}"], ts=ts)
    enc = S.Encoder(ts, m.config, m, prove=True)
    props = {p.name: p for p in ts.properties}
    helpers = [props[h] for h in RAFT_HELPERS if h in props]
    res = S.prove(enc, [props["OneLeaderPerTerm"]], helpers)
    return {"n": n, "seconds": time.perf_counter() - t0, "verdict": res.verdict, "helpers": len(helpers)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--depth", type=int, default=6)
    ap.add_argument("--sizes", default="3,5,7")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    sizes = [int(x) for x in args.sizes.split(",")]
    rows = []
    for n in sizes:
        b = bench_bmc(n, args.depth)
        p = bench_prove(n)
        p2 = bench_prove(n, 2)
        rows.append({"bmc": b, "prove": p, "prove_t2": p2})
    if args.json:
        print(json.dumps(rows, sort_keys=True))
        return 0
    head = ["N", "actions", "encode s"] + [f"d{d}" for d in range(args.depth + 1)] + \
        ["bmc s", "prove s", "prove verdict", "prove MAX_TERM=2 s", "verdict"]
    table = []
    for r in rows:
        b, p = r["bmc"], r["prove"]
        table.append([str(b["n"]), str(b["actions"]), f"{b['encode']:.2f}"] +
                     [f"{x:.2f}" for x in b["per_depth"]] +
                     [f"{b['total']:.2f}", f"{p['seconds']:.2f}",
                      f"{p['verdict']} ({p['helpers']} helpers)",
                      f"{r['prove_t2']['seconds']:.2f}", r["prove_t2"]["verdict"]])
    widths = [max(len(h), *(len(t[i]) for t in table)) for i, h in enumerate(head)]
    print(f"symbolic: spec/raft.elect model default, bmc to depth {args.depth} (seconds per depth), "
          "prove OneLeaderPerTerm")
    print("  ".join(h.rjust(w) for h, w in zip(head, widths)))
    for t in table:
        print("  ".join(c.rjust(w) for c, w in zip(t, widths)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
