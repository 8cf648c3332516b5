#!/usr/bin/python3
# Draws the recall@10 / QPS curves of an `ann` run (bench/run.py ann --json FILE):
# one line per target (vecann, pgvector) and the in-memory reference (hnswlib),
# each point an ef_search value; QPS on a log scale. Needs python3-matplotlib.
#   /usr/bin/python3 bench/plot_ann.py RUN.json OUT.png [RUN2.json OUT2.png ...]
import json
import sys

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def curves(run):
    ann = run["ann"] if "ann" in run else run
    out = []
    for r in ann["results"]:
        if r.get("sweep"):
            out.append((f"{r['target']} {r.get('version', '')}".strip(), r["sweep"], r.get("fixed_ms")))
        ds = r["dataset"], r["rows"], r["dim"], r["metric"], r["m"], r["ef_construction"]
    if ann.get("reference"):
        out.append(("hnswlib (in memory, no SQL)", ann["reference"]["sweep"], None))
    return ds, out


def plot(path_in, path_out):
    with open(path_in) as f:
        run = json.load(f)
    (name, rows, dim, metric, m, efc), lines = curves(run)
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    for label, sweep, fixed in lines:
        xs = [p["recall"] for p in sweep]
        ys = [p["qps"] for p in sweep]
        ax.plot(xs, ys, marker="o", label=label)
        for p in sweep:
            ax.annotate(str(p["ef_search"]), (p["recall"], p["qps"]), fontsize=6,
                        textcoords="offset points", xytext=(3, 3))
    fixed = [f for _, _, f in lines if f]
    ax.set_yscale("log")
    ax.set_xlabel("recall@10")
    ax.set_ylabel("queries per second (one client)")
    ax.set_title(f"{name}: {rows:,} x {dim}, {metric}, m={m}, ef_construction={efc}", fontsize=9)
    if fixed:
        ax.text(0.01, 0.01, f"SQL statements include a fixed cost of about {1000 * min(fixed):.0f} us "
                "(trivial prepared statement); labels: ef_search", transform=ax.transAxes, fontsize=6)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path_out)


if __name__ == "__main__":
    args = sys.argv[1:]
    if not args or len(args) % 2:
        sys.exit("usage: plot_ann.py RUN.json OUT.png [RUN.json OUT.png ...]")
    for i in range(0, len(args), 2):
        plot(args[i], args[i + 1])
        print(f"wrote {args[i + 1]}")
