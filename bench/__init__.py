"""Benchmarks: Strongroom measured against bagit-python, the hashing limit and raw S3.

Run ``python -m bench run`` (see ``docs/benchmarks.md``). Every figure is a
median over alternating runs of both sides (A B A B …) on the same machine, in
the same run, with the ratio taken per pair.
"""
