"""Divide matching rows of two benchmark JSONL files: Go's (cmd/otbench) by the reference's.

    python3 bench/ratios.py go.jsonl ref.jsonl [more-ref.jsonl ...]

Rows match on bench and sizes (n, d, dim, gamma, L, eps, dtype, phase, batch); an impl
suffix "-same" (bench/seedplot_same.py) is ignored for matching. Prints one line per
match: the reference impl and ms, the Go impl and ms, and go/ref (below 1: Go is faster).
Rows the reference skipped are listed with the reason.
"""
import json
import sys

KEYS = ("bench", "n", "d", "dim", "gamma", "L", "eps", "dtype", "phase", "batch")


def load(path):
    with open(path) as fh:
        return [json.loads(line) for line in fh if line.strip()]


def key(row):
    return tuple((k, row.get(k)) for k in KEYS)


def main():
    go = {}
    for row in load(sys.argv[1]):
        go.setdefault(key(row), []).append(row)
    for path in sys.argv[2:]:
        for ref in load(path):
            for mine in go.get(key(ref), []):
                sizes = " ".join(f"{k}={v}" for k, v in key(ref)[1:] if v is not None)
                if not ref.get("ms"):
                    print(f"{ref['bench']:12s} {sizes:44s} {ref['impl']:28s} skipped: {ref.get('skipped', '?')}")
                    continue
                print(f"{ref['bench']:12s} {sizes:44s} {ref['impl']:28s} {ref['ms']:10.2f} ms | "
                      f"{mine['impl']:24s} {mine['ms']:10.2f} ms | go/ref {mine['ms'] / ref['ms']:.3f}")


if __name__ == "__main__":
    main()
