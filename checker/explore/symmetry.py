"""Symmetry reduction: one fingerprint per orbit of states under permutations of ids.

A `symmetric` id type may only be compared with ==/!= and used as a key or a set element
(the type checker enforces it), so renaming its ids maps runs to runs and keeps every
property's truth; the explorer may then store one fingerprint per orbit, and `distinct`
counts orbits.

How the orbit's fingerprint is found without trying all n! renamings:
1. Each id i gets a signature: what the state says about i in terms that do not name
   ids: its own fields (and entries of maps keyed by its type) with every id of its type
   replaced by "is it i?", and a summary of the messages it sends and receives. Renaming
   the state renames the signatures with it: sig_{p(s)}(p(i)) = sig_s(i).
2. The candidate renamings are those that sort the ids by signature: ids with a smaller
   signature get smaller new ids; ids with equal signatures (ties) are tried in every
   order. Renaming the state renames the candidates with it, so every state of one orbit
   has the same set of candidate images.
3. The fingerprint is the least hash of a candidate image: the same for the whole orbit,
   so the reduction is exact (two orbits share a fingerprint only on a 64-bit collision).
Most states have few or no ties, so one or two images are built and hashed.

When the ties of a state would need more than `MAX_PERMUTATIONS` images (big id types,
states where many processes look alike), only the image that keeps tied ids in their
present order is taken. That is still the state renamed, so states of different orbits
are never merged; the orbit may just be counted more than once.

The code that computes signatures and builds images is generated per model, like the
model's own code: slot by slot, with the shape of each value known from its type.
"""
from __future__ import annotations

import itertools
import math
from typing import Callable

from ..model import Model
from ..types import BoolT, EnumT, IdT, IntT, MapT, OptT, RecordT, SeqT, SetT, TupleT, Ty, mentions_symmetric

MAX_PERMUTATIONS = 720   # 6! images at most per state; beyond, one image (may over-count)
NETWORK_SIGNATURE = True # signatures include a summary of each id's messages


class _Gen:
    def __init__(self, model: Model, sym: list[str]):
        self.model = model
        self.sym = sym
        self.ids = model.gen.ids
        self.n_var = 0
        self.proc_names = {p.name for p in model.gen.procs}
        self.helpers: list[str] = []     # bodies of cached renamings: C<n>[x] calls _h<n>(x, ...)
        self.helper_keys: dict = {}

    def cached(self, body_of: Callable[[str], str], x: str, key=None) -> str:
        """`C<n>[x]`: a per-renaming cache of the value renamed (sets, envelopes: values that
        recur from state to state and whose hash Python keeps). One cache per `key`."""
        if key is not None and key in self.helper_keys:
            return f"C{self.helper_keys[key]}[{x}]"
        n = len(self.helpers)
        self.helpers.append(body_of("e"))
        if key is not None:
            self.helper_keys[key] = n
        return f"C{n}[{x}]"

    def var(self) -> str:
        self.n_var += 1
        return f"v{self.n_var}"

    def has_sym(self, t: Ty | None) -> bool:
        if t is None:
            return False
        n = mentions_symmetric(t)
        if n is None:
            return False
        return self._mentions(t)

    def _mentions(self, t: Ty) -> bool:
        if isinstance(t, IdT):
            return t.name in self.sym
        if isinstance(t, OptT):
            return self._mentions(t.inner)
        if isinstance(t, (TupleT, RecordT)):
            items = t.items if isinstance(t, TupleT) else tuple(x for _, x in t.fields)
            return any(self._mentions(x) for x in items)
        if isinstance(t, (SetT, SeqT)):
            return self._mentions(t.elem)
        if isinstance(t, MapT):
            return self._mentions(t.key) or self._mentions(t.val)
        return False

    # ---- renaming: code for the value X with every symmetric id renamed ----
    def ren(self, t: Ty, x: str) -> str | None:
        if not self.has_sym(t):
            return None
        if isinstance(t, IdT):
            return f"P_{t.name}[{x}]"
        if isinstance(t, OptT):
            inner = self.ren(t.inner, x)
            return f"({x} if {x} == () else {inner})"
        if isinstance(t, (TupleT, RecordT)):
            items = t.items if isinstance(t, TupleT) else tuple(y for _, y in t.fields)
            parts = []
            for i, it in enumerate(items):
                r = self.ren(it, f"{x}[{i}]")
                parts.append(r if r is not None else f"{x}[{i}]")
            return "(" + ", ".join(parts) + ",)"
        if isinstance(t, SetT):
            v = self.var()
            return self.cached(lambda y: f"frozenset([{self.ren(t.elem, v)} for {v} in {y}])", x, t)
        if isinstance(t, SeqT):
            v = self.var()
            return f"tuple([{self.ren(t.elem, v)} for {v} in {x}])"
        if isinstance(t, MapT):
            if isinstance(t.key, IdT) and t.key.name in self.sym:
                lo, hi = self.ids[t.key.name]
                parts = []
                for j in range(hi - lo + 1):
                    e = f"{x}[qi_{t.key.name}_{j}]"
                    r = self.ren(t.val, e)
                    parts.append(r if r is not None else e)
                return "(" + ", ".join(parts) + ",)"
            v = self.var()
            return f"tuple([{self.ren(t.val, v)} for {v} in {x}])"
        return None  # pragma: no cover

    # ---- signatures: code for what X says about id `i` of type T, without naming ids ----
    def sig(self, t: Ty, x: str, T: str, i: int) -> str | None:
        if not self.has_sym(t):
            if isinstance(t, (IntT, BoolT, EnumT, IdT)):
                return x
            return f"hash({x})"
        if isinstance(t, IdT):
            return f"({x} == {i})" if t.name == T else None
        if isinstance(t, OptT):
            inner = self.sig(t.inner, x, T, i)
            if inner is None:
                return f"({x} == ())"
            return f"(() if {x} == () else ({inner},))"
        if isinstance(t, (TupleT, RecordT)):
            items = t.items if isinstance(t, TupleT) else tuple(y for _, y in t.fields)
            parts = [p for p in (self.sig(it, f"{x}[{k}]", T, i) for k, it in enumerate(items)) if p is not None]
            return "(" + ", ".join(parts) + ",)" if parts else None
        if isinstance(t, SetT):
            if isinstance(t.elem, IdT) and t.elem.name == T:
                return f"(len({x}), {i} in {x})"
            return f"len({x})"
        if isinstance(t, SeqT):
            return f"len({x})"
        if isinstance(t, MapT):
            if isinstance(t.key, IdT) and t.key.name == T:
                lo, _ = self.ids[T]
                return self.sig(t.val, f"{x}[{i - lo}]", T, i)
            return None
        return None  # pragma: no cover


def canonicalizer(model: Model) -> "Canonicalizer | None":
    """The orbit fingerprint for this model, or None when it has no symmetric id type."""
    ts = model.spec
    sym = sorted(name for name, t in ts.idtypes.items() if t.symmetric and name in model.gen.ids)
    sym = [n for n in sym if model.gen.ids[n][1] > model.gen.ids[n][0]]   # one id: nothing to permute
    if not sym:
        return None
    return Canonicalizer(model, sym)


class Canonicalizer:
    """`fingerprint(s)`: the orbit's fingerprint. Calling it, `canon(s)`, gives an object whose
    hash is that fingerprint (what `hash(canon(s))` callers expect)."""

    def __init__(self, model: Model, sym: list[str], hasher: Callable = hash, source: str | None = None):
        self.model = model
        self.sym = sym
        self.hasher = hasher
        self.source = source or _generate(model, sym)
        ns: dict = {"ARGS": {}, "perm_args": self._perm_args, "tie_orders": self._tie_orders, "Cache": _Cache,
                    "HASH": hasher}
        self._args = ns["ARGS"]
        gen = model.gen
        self._ranges = [gen.ids[T] for T in sym]
        self._is_proc = [T in {p.name for p in gen.procs} for T in sym]
        self._max_id = max([hi for (_, hi) in gen.ids.values()] + [0])
        exec(compile(self.source, f"<symmetry {model.spec.name}:{model.config.name}>", "exec"), ns)
        self._helpers = ns["HELPERS"]
        self.fingerprint: Callable[[tuple], int] = ns["fingerprint"]
        self.images: Callable[[tuple], list] = ns["images"]

    def with_hash(self, hasher: Callable) -> "Canonicalizer":
        """The same canonicalizer hashing images with `hasher` (see visited.safe_hash)."""
        return Canonicalizer(self.model, self.sym, hasher, self.source)

    def _perm_args(self, key: tuple) -> tuple:
        """(P_T, QI_T, ..., PALL) for the renaming where key[n][j] becomes lo_T + j."""
        args = []
        pall = list(range(self._max_id + 1))
        for (lo, hi), olds, is_proc in zip(self._ranges, key, self._is_proc):
            p = list(range(hi + 1))
            for j, old in enumerate(olds):
                p[old] = lo + j
                if is_proc:
                    pall[old] = lo + j
            args.append(tuple(p))
            args.append(tuple(old - lo for old in olds))
        args.append(tuple(pall))
        caches = tuple(_Cache(h) for h in self._helpers)
        args.append(caches)
        args = tuple(args)
        for c in caches:
            c.args = args
        if len(self._args) > 100_000:
            self._args.clear()
        self._args[key] = args
        return args

    @staticmethod
    def _tie_orders(orders: tuple) -> list[tuple]:
        """Every key (per type: ids in their new order) that sorts ids by signature, or the one
        that keeps tied ids in their present order when there are too many."""
        per_type = []
        total = 1
        for o in orders:
            groups: list[list[int]] = []
            prev = None
            for sg, i in o:
                if groups and sg == prev:
                    groups[-1].append(i)
                else:
                    groups.append([i])
                    prev = sg
            for gr in groups:
                total *= math.factorial(len(gr))
            per_type.append(groups)
        if total > MAX_PERMUTATIONS:
            return [tuple(tuple(i for _, i in o) for o in orders)]
        choices = []
        for groups in per_type:
            choices.append([tuple(itertools.chain.from_iterable(c))
                            for c in itertools.product(*[itertools.permutations(gr) for gr in groups])])
        return list(itertools.product(*choices))

    def __call__(self, s: tuple) -> "_Fingerprint":
        return _Fingerprint(self.fingerprint(s))

    def canonical(self, s: tuple) -> tuple:
        """The candidate image with the least hash (a state of the orbit)."""
        return min(self.images(s), key=self.hasher)


class _Cache(dict):
    """value -> value renamed by one renaming, computed on first use."""
    __slots__ = ("fn", "args")

    def __init__(self, fn):
        super().__init__()
        self.fn = fn
        self.args = ()

    def __missing__(self, key):
        if len(self) > 100_000:
            self.clear()
        v = self[key] = self.fn(key, *self.args)
        return v


class _Fingerprint:
    __slots__ = ("h",)

    def __init__(self, h: int):
        self.h = h

    def __hash__(self) -> int:
        return self.h

    def __eq__(self, other) -> bool:
        return isinstance(other, _Fingerprint) and other.h == self.h


def _generate(model: Model, sym: list[str]) -> str:
    g = _Gen(model, sym)
    L = model.layout
    gen = model.gen
    cfg = model.config
    all_ids = list(gen.all_ids)
    max_id = max([hi for (lo, hi) in gen.ids.values()] + [0])
    lines: list[str] = []
    w = lines.append

    # ---- image(s, P_T..., QI_T..., PALL, CC): the state with ids renamed ----
    perm_args = ", ".join([f"P_{T}, QI_{T}" for T in sym] + ["PALL", "CC"])
    unpack = ", ".join(f"s{k}" for k in range(len(L.slots)))
    body: list[str] = []
    parts = []
    for k, sl in enumerate(L.slots):
        x = f"s{k}"
        code = None
        if sl.kind == "var":
            code = g.ren(sl.ty, x)
        elif sl.kind == "field":
            if sl.proc in sym:
                lo, hi = gen.ids[sl.proc]
                items = []
                for j in range(hi - lo + 1):
                    e = f"{x}[qi_{sl.proc}_{j}]"
                    r = g.ren(sl.ty, e)
                    items.append(r if r is not None else e)
                code = "(" + ", ".join(items) + ",)"
            else:
                v = g.var()
                r = g.ren(sl.ty, v)
                if r is not None:
                    code = f"tuple([{r} for {v} in {x}])"
        elif sl.kind == "network":
            code = _network_ren(g, model, x, body)
        elif sl.kind == "down":
            code = f"frozenset([PALL[p] for p in {x}])"
        elif sl.kind == "partition":
            body.append(f"    w = frozenset([PALL[p] for p in {x}])")
            body.append(f"    w = w if not w or {all_ids[0]} in w else EVERYONE - w")
            code = "w"
        parts.append(code if code is not None else x)
    prologue = []
    for T in sym:
        lo, hi = gen.ids[T]
        prologue.append(f"    {', '.join(f'qi_{T}_{j}' for j in range(hi - lo + 1))}, = QI_{T}")
    if g.helpers:
        prologue.append(f"    {', '.join(f'C{n}' for n in range(len(g.helpers)))}, = CC")
    w(f"def image(s, {perm_args}):")
    w(f"    {unpack}, = s")
    lines.extend(prologue)
    lines.extend(body)
    w("    return (" + ", ".join(parts) + ",)")
    w("")
    for n, hb in enumerate(g.helpers):
        w(f"def _h{n}(e, {perm_args}):")
        lines.extend(prologue)
        w(f"    return {hb}")
        w("")
    w(f"HELPERS = ({''.join(f'_h{n}, ' for n in range(len(g.helpers)))})")
    w("")

    # ---- signatures, sorted: o_T = [(signature, id)] ----
    w("def orders(s):")
    w(f"    {unpack}, = s")
    net_k = L.net
    net_sig = {}
    if net_k is not None and cfg.network != "fifo" and NETWORK_SIGNATURE:
        net_sig = _network_sig(g, model, net_k, lines)
    for T in sym:
        lo, hi = gen.ids[T]
        for i in range(lo, hi + 1):
            items = []
            for k, sl in enumerate(L.slots):
                if sl.kind == "field" and sl.proc == T:
                    c = g.sig(sl.ty, f"s{k}[{i - lo}]", T, i)
                elif sl.kind == "var" and g.has_sym(sl.ty):
                    c = g.sig(sl.ty, f"s{k}", T, i)
                elif sl.kind == "down" and T in g.proc_names:
                    c = f"({i} in s{k})"
                elif sl.kind == "partition" and T in g.proc_names:
                    # the size of i's own side (the stored side is the one holding the lowest id)
                    c = f"(len(s{k}) if {i} in s{k} else {len(all_ids)} - len(s{k}))"
                else:
                    c = None
                if c is not None:
                    items.append(c)
            if T in net_sig:
                items.append(f"NO[{i}]")
                items.append(f"NI[{i}]")
            w(f"    g_{T}_{i} = ({', '.join(items)}{',' if items else ''})")
    outs = []
    for T in sym:
        lo, hi = gen.ids[T]
        outs.append("sorted([" + ", ".join(f"(g_{T}_{i}, {i})" for i in range(lo, hi + 1)) + "])")
    w(f"    return ({', '.join(outs)},)")
    w("")
    # ---- the fingerprint: no ties (the common case) inline, else every tie order ----
    w("def fingerprint(s):")
    w("    os = orders(s)")
    conds = []
    olds = []
    for n, T in enumerate(sym):
        lo, hi = gen.ids[T]
        w(f"    o{n} = os[{n}]")
        conds += [f"o{n}[{j}][0] != o{n}[{j + 1}][0]" for j in range(hi - lo)]
        olds.append("(" + ", ".join(f"o{n}[{j}][1]" for j in range(hi - lo + 1)) + ",)")
    w(f"    if {' and '.join(conds)}:")
    w(f"        key = ({', '.join(olds)},)")
    w("        if key == IDENTITY:")
    w("            return HASH(s)")
    w("        a = ARGS.get(key)")
    w("        if a is None:")
    w("            a = perm_args(key)")
    w("        return HASH(image(s, *a))")
    w("    best = None")
    w("    for key in tie_orders(os):")
    w("        a = ARGS.get(key)")
    w("        if a is None:")
    w("            a = perm_args(key)")
    w("        h = HASH(image(s, *a))")
    w("        if best is None or h < best:")
    w("            best = h")
    w("    return best")
    w("")
    w("def images(s):")
    w("    return [image(s, *perm_args(key)) for key in tie_orders(orders(s))]")
    w("")
    # constants
    head = [f"EVERYONE = frozenset({tuple(all_ids)!r})",
            "IDENTITY = (" + ", ".join(repr(tuple(range(gen.ids[T][0], gen.ids[T][1] + 1))) for T in sym) + ",)"]
    return "\n".join(head) + "\n\n" + "\n".join(lines) + "\n"


def _network_ren(g: _Gen, model: Model, x: str, lines: list[str]) -> str:
    """Code renaming the network slot (and helper functions it needs, appended to lines)."""
    ts = model.spec
    cfg = model.config
    tags = model.gen.tags
    # per tag: code renaming an envelope e = (tag, src, dst, fields..., [copy])
    per_tag = {}
    uniform = None
    for name, mi in ts.messages.items():
        fs = []
        for n, (_, ft) in enumerate(mi.ty.fields):
            r = g.ren(ft, f"e[{3 + n}]")
            fs.append(r)
        nf = len(fs)
        if all(r is None for r in fs):
            code = "(e[0], PALL[e[1]], PALL[e[2]]) + e[3:]"
        else:
            items = ["e[0]", "PALL[e[1]]", "PALL[e[2]]"] + [r if r is not None else f"e[{3 + n}]"
                                                            for n, r in enumerate(fs)]
            code = "(" + ", ".join(items) + ",)" + f" + e[{3 + nf}:]"
        per_tag[tags[name]] = code
    codes = set(per_tag.values())
    if cfg.network != "fifo":
        if len(codes) == 1:
            expr = codes.pop()
        else:
            expr = "e"
            for tag, code in sorted(per_tag.items(), reverse=True):
                expr = f"({code} if e[0] == {tag} else {expr})"
        return f"frozenset([{g.cached(lambda y: expr, 'e')} for e in {x}])"
    if cfg.network == "fifo":
        # channels (src, dst) in FIFO_KEYS order; each queue holds (tag, fields...) messages
        fn = ["def ren_fifo(net, PALL, ren_msg):",
              "    out = [()] * len(net)",
              "    for (src, dst), q in zip(FIFO_KEYS, net):",
              "        if q:",
              "            out[FIFO_INDEX[(PALL[src], PALL[dst])]] = tuple([ren_msg(m, PALL) for m in q])",
              "    return tuple(out)",
              "",
              "def ren_msg(m, PALL):",
              "    e = (m[0], 0, 0) + m[1:]"]
        first = True
        for tag, code in sorted(per_tag.items()):
            fn.append(f"    {'if' if first else 'elif'} m[0] == {tag}:")
            fn.append(f"        e = {code}")
            first = False
        fn += ["    return (e[0],) + e[3:]", ""]
        # fifo helpers need the permutation args in scope: generate them inside image()
        return _inline_fifo(g, model, x, per_tag, lines)


def _inline_fifo(g: _Gen, model: Model, x: str, per_tag: dict, lines: list[str]) -> str:
    keys = model.ns["FIFO_KEYS"]
    index = {k: i for i, k in enumerate(keys)}
    model.ns.setdefault("_SYM_FIFO_INDEX", index)
    expr = "e"
    for tag, code in sorted(per_tag.items(), reverse=True):
        expr = f"({code} if e[0] == {tag} else {expr})"
    lines.append("    fifo = [()] * %d" % len(keys))
    lines.append(f"    for (src, dst), q in zip({tuple(keys)!r}, {x}):")
    lines.append("        if q:")
    lines.append(f"            fifo[{index!r}[(PALL[src], PALL[dst])]] = tuple([(e[0],) + e[3:] for e in "
                 f"[{expr} for e in [(m[0], src, dst) + m[1:] for m in q]]])")
    return "tuple(fifo)"


def _network_sig(g: _Gen, model: Model, k: int, lines: list[str]) -> dict:
    """Per process id: a summary of the envelopes it sends (NO) and receives (NI), as sums of
    hashes of (tag, fields with ids abstracted to constants) - the same whatever the ids."""
    ts = model.spec
    tags = model.gen.tags
    max_id = max([hi for (lo, hi) in model.gen.ids.values()] + [0])
    keyed = {}
    for name, mi in ts.messages.items():
        fs = []
        for n, (_, ft) in enumerate(mi.ty.fields):
            if not g.has_sym(ft):
                fs.append(f"e[{3 + n}]" if isinstance(ft, (IntT, BoolT, EnumT, IdT)) else f"hash(e[{3 + n}])")
        keyed[tags[name]] = "(" + ", ".join(["e[0]"] + fs) + ",)"
    codes = set(keyed.values())
    if len(codes) == 1:
        key = codes.pop()
    else:
        key = "e[0]"
        for tag, code in sorted(keyed.items(), reverse=True):
            key = f"({code} if e[0] == {tag} else {key})"
    lines.append(f"    NO = [0] * {max_id + 1}")
    lines.append(f"    NI = [0] * {max_id + 1}")
    lines.append(f"    for e in s{k}:")
    lines.append("        h = NH[e]")
    lines.insert(0, f"def _nh(e):\n    return hash({key})\n\nNH = Cache(_nh)\n")
    lines.append("        NO[e[1]] += h")
    lines.append("        NI[e[2]] += h")
    return {T: True for T in g.sym if T in g.proc_names}
