"""Conformance between recorded runs of an implementation and a spec (see checker/conform.py).

records.py reads and checks JSONL trace files; engine.py holds the spec compiled for a
trace and matches records to spec steps; explain.py says why a record did not match.
"""
