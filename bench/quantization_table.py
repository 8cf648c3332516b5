# One table from the JSON files of bench/quantization.sh: per index kind its size
# (and ratio to pgvector's float32 index), build time, and recall@10 / QPS at
# each ef_search. Markdown, for bench/RESULTS.md.
import json
import sys


def main(paths):
    runs = []
    for p in paths:
        with open(p) as f:
            data = json.load(f)
        for r in data["ann"]["results"] if "ann" in data else data["results"]:
            if "sweep" not in r:
                continue
            kind = r.get("index_kind", "vector")
            name = (f"vecann {r['quantization']}" if r["target"] == "vecann"
                    else f"pgvector {kind}")
            runs.append((name, r))
    base = next((r for n, r in runs if n == "pgvector vector"), None)
    efs = [p["ef_search"] for p in runs[0][1]["sweep"]] if runs else []
    print("| index | size MB | size / pgvector f32 | build s | "
          + " | ".join(f"ef {e}: recall / QPS" for e in efs) + " |")
    print("|---" * (4 + len(efs)) + "|")
    for name, r in runs:
        size = r["index_bytes"] / 2**20
        rel = f"{r['index_bytes'] / base['index_bytes']:.2f}" if base else "-"
        cells = [f"{p['recall']:.4f} / {p['qps']:,.0f}" for p in r["sweep"]]
        print(f"| {name} | {size:.1f} | {rel} | {r['build_s']:.1f} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
