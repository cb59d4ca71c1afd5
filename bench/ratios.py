"""Divide matching rows of two benchmark JSONL files: Go's (cmd/otbench) by the reference's.

    python3 bench/ratios.py go.jsonl ref.jsonl [more-ref.jsonl ...]

Rows match on bench and sizes (n, d, dim, gamma, tol, L, eps, dtype, phase, batch,
projections); an impl suffix "-same" (bench/seedplot_same.py, bench/reference_extra.py) is
ignored for matching. Prints one line per match: the reference impl with its minimum and
median ms, the Go impl with its minimum and median, and go/ref as the ratio of minimums and
the ratio of medians side by side (below 1: Go is faster). The minimum is the steadiest figure
on a shared host (stalls only ever add time); rows without ms_min (older files) show "-".
Rows the reference skipped are listed with the reason, Go's peak RSS where its row has one,
and Go rows without a reference row (e.g. unbalanced_over_balanced) are printed whole.
"""
import json
import sys

KEYS = ("bench", "n", "d", "dim", "gamma", "tol", "L", "eps", "dtype", "phase", "batch", "projections")


def load(path):
    with open(path) as fh:
        return [json.loads(line) for line in fh if line.strip()]


def key(row):
    return tuple((k, row.get(k)) for k in KEYS)


def ratio(mine, ref, k):
    if mine.get(k) is None or not ref.get(k):
        return "    -"
    return f"{mine[k] / ref[k]:.3f}"


def ms(row, k):
    return f"{row[k]:9.2f}" if row.get(k) is not None else "        -"


def main():
    go = {}
    for row in load(sys.argv[1]):
        go.setdefault(key(row), []).append(row)
    print(f"{'bench':12s} {'sizes':50s} {'reference':28s} {'min':>9s} {'median':>9s} | "
          f"{'go':24s} {'min':>9s} {'median':>9s} | go/ref min  median")
    matched = set()
    for path in sys.argv[2:]:
        for ref in load(path):
            for mine in go.get(key(ref), []):
                sizes = " ".join(f"{k}={v}" for k, v in key(ref)[1:] if v is not None)
                if not ref.get("ms"):
                    print(f"{ref['bench']:12s} {sizes:50s} {ref['impl']:28s} skipped: {ref.get('skipped', '?')}")
                    continue
                rss = f"  go peak RSS {mine['peak_rss_mib']:.0f} MiB" if "peak_rss_mib" in mine else ""
                print(f"{ref['bench']:12s} {sizes:50s} {ref['impl']:28s} {ms(ref, 'ms_min')} {ms(ref, 'ms')} | "
                      f"{mine['impl']:24s} {ms(mine, 'ms_min')} {ms(mine, 'ms')} | "
                      f"{ratio(mine, ref, 'ms_min'):>10s} {ratio(mine, ref, 'ms'):>7s}{rss}")
                matched.add(id(mine))
    # Go rows with no reference row: printed whole (the unbalanced-over-balanced ratios).
    for rows in go.values():
        for mine in rows:
            if id(mine) not in matched:
                print("go only:", json.dumps(mine))


if __name__ == "__main__":
    main()
