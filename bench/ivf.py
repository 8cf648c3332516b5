# `ivf` subcommand of bench/run.py: the ivfflat index of vecann beside pgvector's
# (when installed on the same server, in its own database), on the same data, lists
# and probes: build time, index size, and recall@10 with QPS (one client, prepared
# statements) for a sweep of ivfflat.probes, with the QPS ratio at recall 0.9 and
# 0.95. See bench/README.md ("ivf").

import statistics
import time

import datasets


def add_parser(sub, common):
    import argparse
    p = sub.add_parser("ivf", parents=[common], help="ivfflat build + recall/QPS sweep over probes",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--dataset", default="fashion-mnist", choices=datasets.DATASETS)
    p.add_argument("--rows", type=int, default=None, help="limit the rows (random/clusters: their number)")
    p.add_argument("--queries", type=int, default=200)
    p.add_argument("--lists", type=int, default=None,
                   help="ivfflat lists (default: pgvector's advice, rows / 1000 up to 1M rows, "
                        "sqrt(rows) above)")
    p.add_argument("--probes", default="1,2,4,8,16,32,64",
                   help="comma list of ivfflat.probes values")
    p.add_argument("--build-threads", type=int, default=2,
                   help="vecann.build_threads and (for pgvector's parallel build) "
                        "max_parallel_maintenance_workers + 1")
    p.add_argument("--quantization", default=None, choices=["f32", "f16", "bf16", "i8"],
                   help="vecann's ivfflat option (pgvector's lists stay float32); answers stay exact")
    p.add_argument("--min-time", type=float, default=4.0, help="seconds per target and probes value")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--warmup", type=int, default=50)
    return p


def cmd_ivf(args, targets, run):
    log = run.log
    op, opclass = run.METRIC_SQL[args.metric]
    ds = datasets.load(args.dataset, rows=args.rows, dim=args.dim, nq=args.queries, seed=args.seed)
    nq = min(args.queries, len(ds.queries))
    qv = ds.queries[:nq]
    gt_ids, gt_dist = datasets.ground_truth(ds, args.metric)
    gt_ids, gt_dist = gt_ids[:nq], gt_dist[:nq]
    lists = args.lists or (max(1, ds.n // 1000) if ds.n <= 1_000_000 else int(ds.n ** 0.5))
    probes = [int(x) for x in args.probes.split(",") if x.strip()]
    table = "ivf_" + run._ident(ds.name)
    log(f"\n== ivf: {ds.name} ({ds.n:,} x {ds.dim}), {nq} queries, metric {args.metric} ({op}, {opclass}), "
        f"lists={lists}, probes {probes}, {args.build_threads} build threads"
        f"{f', vecann quantization {args.quantization}' if args.quantization else ''}")
    results, live = [], []
    for t in targets:
        t.probe(ds.dim)
        res = {"target": t.name, "version": t.version, "dataset": ds.name, "rows": ds.n, "dim": ds.dim,
               "queries": nq, "metric": args.metric, "lists": lists,
               "quantization": (args.quantization or "f32") if t.name == "vecann" else "f32"}
        log(f"-- {t.name}: loading ...")
        res["load_s"] = t.load(table, ds.base)
        t.conn.execute("CHECKPOINT")
        if t.name == "vecann":
            t.conn.execute(f"SET vecann.build_threads = {args.build_threads}")
        t.conn.execute(f"SET max_parallel_maintenance_workers = {args.build_threads - 1}")
        idx = table + "_ivf"
        t0 = time.perf_counter()
        t.conn.execute(f"CREATE INDEX {idx} ON {table} USING ivfflat (embedding {opclass}) "
                       f"WITH (lists = {lists}{run.quantization_option(t, args)})")
        res["build_s"] = time.perf_counter() - t0
        res["index_bytes"] = t.conn.execute("SELECT pg_relation_size(%s::regclass)", (idx,)).fetchone()[0]
        t.conn.execute(f"ANALYZE {table}")
        t.prewarm(idx)
        t.prewarm(table)
        log(f"   index built in {res['build_s']:.1f} s, size {run._fmt_bytes(res['index_bytes'])}")
        knn = lambda q: f"SELECT id FROM {table} ORDER BY embedding {op} {q} LIMIT 10"
        plan = t.explain(knn(t.ph), (run.Vec(qv[0]),))
        res["index_used"] = any(idx in ln for ln in plan)
        log(f"   EXPLAIN uses {idx}: {'yes' if res['index_used'] else 'NO'}")
        res["sweep"] = []
        st = run.Prepared(t, knn("$1"))
        live.append((t, res, st, [st.encode(v) for v in qv]))
        results.append(res)

    slot = args.min_time / max(args.rounds, 1)
    for p in probes:
        if p > lists:
            continue
        rates = {}
        for t, res, st, params in live:
            t.conn.execute(f"SET ivfflat.probes = {p}")
            for q in params[:min(args.warmup, nq)]:
                st.run(q)
            rates[t.name] = []
        ids = {}
        for _ in range(max(args.rounds, 1)):
            for t, res, st, params in live:
                done, t0 = 0, time.perf_counter()
                while True:
                    got = [st.run(q) for q in params]
                    ids.setdefault(t.name, got)
                    done += len(params)
                    el = time.perf_counter() - t0
                    if el >= slot:
                        break
                rates[t.name].append(done / el)
        for t, res, st, params in live:
            qps = statistics.median(rates[t.name])
            _, rec = datasets.recall_at(10, ids[t.name], gt_ids, gt_dist, ds.base, qv, args.metric)
            res["sweep"].append({"probes": p, "recall": rec, "qps": qps})
            log(f"   {t.name:8s} probes={p:4d}: recall@10 {rec:.4f}  QPS {qps:9,.1f}")
    for t, res, st, params in live:
        st.close()
        t.conn.execute("RESET ivfflat.probes")
        if not args.keep_tables:
            t.conn.execute(f"DROP TABLE {table}")

    by = {r["target"]: r for r in results}
    summary = {}
    if "vecann" in by and "pgvector" in by:
        a, b = by["vecann"], by["pgvector"]
        summary = {"build_ratio": run.ratio(a["build_s"], b["build_s"]),
                   "size_ratio": run.ratio(a["index_bytes"], b["index_bytes"])}
        log("\n== vecann / pgvector (build time, size: <1 means vecann better; QPS: >1 means vecann faster)")
        log(f"   build {a['build_s']:.1f} s / {b['build_s']:.1f} s = {summary['build_ratio']:.2f}; "
            f"size {summary['size_ratio']:.2f}")
        for target in (0.9, 0.95, 0.99):
            qa, na = run.qps_at_recall(a["sweep"], target)
            qb, nb = run.qps_at_recall(b["sweep"], target)
            r = run.ratio(qa, qb) if qa and qb else None
            summary[f"qps_ratio_at_{target}"] = r
            log(f"   recall {target}: QPS {run._fmt(qa)} ({na}) / {run._fmt(qb)} ({nb})"
                + (f" = {r:.2f}" if r else ""))
        rows = []
        for pa in a["sweep"]:
            pb = next((x for x in b["sweep"] if x["probes"] == pa["probes"]), None)
            if pb:
                rows.append([pa["probes"], f"{pa['recall']:.4f}", f"{pb['recall']:.4f}", run._fmt(pa["qps"]),
                             run._fmt(pb["qps"]), f"{run.ratio(pa['qps'], pb['qps']):.2f}"])
        run.print_table(["probes", "vecann recall", "pgvector recall", "vecann QPS", "pgvector QPS", "QPS ratio"],
                        rows)
    return {"ivf": results, "summary": summary}
