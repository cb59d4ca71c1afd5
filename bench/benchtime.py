"""Timing shared by the bench/ scripts, in ../shared/bench/reference.py's convention.

timing(fn, reps) runs fn once to warm up, then reps times, and returns
{"ms": median, "ms_min": minimum, "reps": reps} in milliseconds: on a shared host the
minimum is the steadiest figure (stalls only ever add time), so compare minimums with
minimums and medians with medians. Where the warm-up shows that reps runs would take
longer than budget seconds, fewer run (at least 3), as cmd/otbench's -budget does.
"""
import json
import time


def timing(fn, reps, budget=20.0):
    t = time.perf_counter()
    fn()
    warm = time.perf_counter() - t
    if budget and reps * warm > budget:
        reps = min(reps, max(3, int(budget / max(warm, 1e-9))))
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    ts.sort()
    return dict(ms=ts[len(ts) // 2] * 1000, ms_min=ts[0] * 1000, reps=reps)


def emit(**kw):
    print(json.dumps(kw), flush=True)
