/* The visited set that `elect check --workers N` shares between its worker processes.

   One open-addressing table of fingerprints in shared memory; every worker inserts the
   fingerprints of the successors it generates, with compare-and-swap, so no state is
   decided twice and no fingerprint is sent between processes. checker/explore/sharedset.py
   compiles this file (the C compiler and Python's headers) into the extension module
   `_elect_sharedset`; a worker calls `claim` once per successor, as one process would
   look in its own set.

   Layout (64-bit words): a header of HEADER_WORDS words, then `slots` pairs
   (fingerprint, claim). A fingerprint of 0 marks an empty slot; the fingerprint 0 itself
   has its claim in the header.
     header[0]             slots (a power of two)
     header[8]             the claim of fingerprint 0
     header[COUNT + 8*w]   slots filled by worker w (w = COORD: by a rehash), each on its
                           own cache line

   A claim says which state of which level is the one kept: ((level + 1) << 40) | (rank + 1),
   where rank is the place of the parent that generated it in the level being expanded:
   its index in its worker's frontier times the number of workers, plus the worker's
   number. Within a level the least rank wins (two workers may both reach a state; the
   one whose parent comes first keeps it), so what each worker keeps, and so every parent
   link, does not depend on which worker got there first: the search is the same from run
   to run. (Ranks, not global ids, so that neither worker is favoured: both expand their
   frontier from the start, and a global id grows with all that a worker held before.) */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

#define HEADER_WORDS 512
#define ZERO 8
#define COUNT 16
#define COORD 56
#define LEVEL_SHIFT 40

static inline uint64_t slot_of(uint64_t h, uint64_t mask) {
    return ((h * 0x9E3779B97F4A7C15ULL) >> 20) & mask;
}

/* 1 when `mine` is now the claim (a new state for the caller, kept unless a parent of the
   same level with a smaller rank takes it later), 0 when the state was decided at an
   earlier level or a parent with a smaller or equal rank holds it. */
static inline int take(uint64_t *c, uint64_t mine) {
    uint64_t old = __atomic_load_n(c, __ATOMIC_ACQUIRE);
    for (;;) {
        if (old != 0) {
            if ((old >> LEVEL_SHIFT) != (mine >> LEVEL_SHIFT) || old <= mine)
                return 0;
        }
        if (__atomic_compare_exchange_n(c, &old, mine, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            return 1;
    }
}

/* The claim word of h, inserting h if absent; *fresh counts slots filled. NULL: no slot
   left (cannot happen below the load limit the callers keep). */
static inline uint64_t *find(uint64_t *tab, uint64_t h, int insert, int64_t *fresh) {
    if (h == 0)
        return &tab[ZERO];
    uint64_t slots = tab[0], mask = slots - 1;
    uint64_t *S = tab + HEADER_WORDS;
    uint64_t j = slot_of(h, mask);
    for (uint64_t probes = 0; probes < slots; probes++, j = (j + 1) & mask) {
        uint64_t *f = &S[2 * j];
        uint64_t v = __atomic_load_n(f, __ATOMIC_ACQUIRE);
        if (v == 0) {
            if (!insert)
                return 0;
            if (__atomic_compare_exchange_n(f, &v, h, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
                ++*fresh;
                return f + 1;
            }
        }
        if (v == h)
            return f + 1;
    }
    return 0;
}

static uint64_t filled(const uint64_t *tab, int64_t workers) {
    uint64_t n = __atomic_load_n(&tab[COUNT + 8 * COORD], __ATOMIC_RELAXED);
    for (int64_t w = 0; w < workers; w++)
        n += __atomic_load_n(&tab[COUNT + 8 * w], __ATOMIC_RELAXED);
    return n;
}

/* After a level: out[i] = 1 where the state (hs[i], its parent's global id gids[i]) kept the
   claim; a parent's rank is its global id minus `offset` (the caller's first global id in
   the level, less its worker number). */
static int64_t elect_kept(uint64_t *tab, const int64_t *hs, const int64_t *gids, int64_t n, int64_t level,
                          int64_t offset, uint8_t *out) {
    uint64_t lv = (uint64_t)(level + 1) << LEVEL_SHIFT, mask = tab[0] - 1;
    uint64_t *S = tab + HEADER_WORDS;
    int64_t kept = 0, none = 0;
    for (int64_t i = 0; i < n; i++) {
        if (i + 8 < n)
            __builtin_prefetch(&S[2 * slot_of((uint64_t)hs[i + 8], mask)], 0);
        uint64_t *c = find(tab, (uint64_t)hs[i], 0, &none);
        out[i] = (uint8_t)(c != 0 && __atomic_load_n(c, __ATOMIC_ACQUIRE) == (lv | (uint64_t)(gids[i] - offset + 1)));
        kept += out[i];
    }
    return kept;
}

/* Copy every entry of `old` into the empty table `new` (no worker running). Returns the
   number of entries, or -1 if they do not fit. */
static int64_t elect_rehash(const uint64_t *old, uint64_t *new) {
    uint64_t slots = old[0], nmask = new[0] - 1;
    const uint64_t *S = old + HEADER_WORDS;
    uint64_t *N = new + HEADER_WORDS;
    int64_t n = 0;
    new[ZERO] = old[ZERO];
    for (uint64_t i = 0; i < slots; i++) {
        uint64_t h = S[2 * i];
        if (h == 0)
            continue;
        uint64_t j = slot_of(h, nmask), probes = 0;
        while (N[2 * j] != 0) {
            j = (j + 1) & nmask;
            if (++probes >= new[0])
                return -1;
        }
        N[2 * j] = h;
        N[2 * j + 1] = S[2 * i + 1];
        n++;
    }
    new[COUNT + 8 * COORD] = (uint64_t)n;
    return n;
}

/* ---------------------------------------------------------------- the Python module */
static uint64_t *table;           /* this process's mapping of the table in use */
static int64_t me_, workers_, limit_;
static int64_t fresh_;             /* slots this process filled since it last added them up */

static PyObject *py_attach(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "attach(addr, me, workers, limit)");
        return NULL;
    }
    uint64_t *t = (uint64_t *)PyLong_AsVoidPtr(args[0]);
    int64_t me = PyLong_AsLongLong(args[1]), w = PyLong_AsLongLong(args[2]), lim = PyLong_AsLongLong(args[3]);
    if (PyErr_Occurred())
        return NULL;
    if (me < 0 || me >= COORD || w < 1 || w > COORD) {
        PyErr_SetString(PyExc_ValueError, "attach: worker out of range");
        return NULL;
    }
    if (table && fresh_)
        __atomic_fetch_add(&table[COUNT + 8 * me_], (uint64_t)fresh_, __ATOMIC_RELAXED);
    table = t;
    me_ = me;
    workers_ = w;
    limit_ = lim;
    fresh_ = 0;
    Py_RETURN_NONE;
}

/* claim(h, mine): True when this process now holds the claim of fingerprint h (see take);
   mine = ((level + 1) << 40) | (rank + 1). */
static PyObject *py_claim(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 2 || !table) {
        PyErr_SetString(PyExc_TypeError, "claim(h, mine) after attach");
        return NULL;
    }
    int64_t h = PyLong_AsLongLong(args[0]), mine = PyLong_AsLongLong(args[1]);
    if ((h == -1 || mine == -1) && PyErr_Occurred())
        return NULL;
    uint64_t *c = find(table, (uint64_t)h, 1, &fresh_);
    if (!c) {
        PyErr_SetString(PyExc_RuntimeError, "the shared visited set is full");
        return NULL;
    }
    if (take(c, (uint64_t)mine))
        Py_RETURN_TRUE;
    Py_RETURN_FALSE;
}

/* full(): adds up the slots filled so far; True when the table is at its load limit (the
   caller stops, for the table to grow, before it claims more). */
static PyObject *py_full(PyObject *self, PyObject *unused) {
    if (!table) {
        PyErr_SetString(PyExc_TypeError, "full() after attach");
        return NULL;
    }
    if (fresh_) {
        __atomic_fetch_add(&table[COUNT + 8 * me_], (uint64_t)fresh_, __ATOMIC_RELAXED);
        fresh_ = 0;
    }
    if (filled(table, workers_) >= (uint64_t)limit_)
        Py_RETURN_TRUE;
    Py_RETURN_FALSE;
}

/* kept(hs_addr, gids_addr, n, level, offset) -> bytes: the mask of elect_kept. */
static PyObject *py_kept(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 5 || !table) {
        PyErr_SetString(PyExc_TypeError, "kept(hs_addr, gids_addr, n, level, offset) after attach");
        return NULL;
    }
    const int64_t *hs = PyLong_AsVoidPtr(args[0]), *gids = PyLong_AsVoidPtr(args[1]);
    int64_t n = PyLong_AsLongLong(args[2]), level = PyLong_AsLongLong(args[3]), offset = PyLong_AsLongLong(args[4]);
    if (PyErr_Occurred())
        return NULL;
    PyObject *out = PyBytes_FromStringAndSize(NULL, n);
    if (out)
        elect_kept(table, hs, gids, n, level, offset, (uint8_t *)PyBytes_AS_STRING(out));
    return out;
}

/* filled(addr) -> the slots filled in the table at addr, as its counters say. */
static PyObject *py_filled(PyObject *self, PyObject *arg) {
    const uint64_t *t = PyLong_AsVoidPtr(arg);
    if (PyErr_Occurred())
        return NULL;
    return PyLong_FromUnsignedLongLong(filled(t, COORD));
}

/* rehash(old_addr, new_addr) -> entries copied, or -1; see elect_rehash. */
static PyObject *py_rehash(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "rehash(old_addr, new_addr)");
        return NULL;
    }
    const uint64_t *old = PyLong_AsVoidPtr(args[0]);
    uint64_t *new = PyLong_AsVoidPtr(args[1]);
    if (PyErr_Occurred())
        return NULL;
    return PyLong_FromLongLong(elect_rehash(old, new));
}

static PyMethodDef methods[] = {
    {"attach", (PyCFunction)(void (*)(void))py_attach, METH_FASTCALL, "use the table at addr"},
    {"claim", (PyCFunction)(void (*)(void))py_claim, METH_FASTCALL, "claim a fingerprint"},
    {"full", py_full, METH_NOARGS, "is the table at its load limit"},
    {"kept", (PyCFunction)(void (*)(void))py_kept, METH_FASTCALL, "which claims were kept"},
    {"filled", py_filled, METH_O, "slots filled in a table"},
    {"rehash", (PyCFunction)(void (*)(void))py_rehash, METH_FASTCALL, "copy a table into a bigger one"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_elect_sharedset", NULL, -1, methods};

PyMODINIT_FUNC PyInit__elect_sharedset(void) { return PyModule_Create(&module); }
