# `writes` subcommand of bench/run.py: how an HNSW index copes with writes, for vecann
# and (when installed on the same server, in its own database) pgvector:
#   - insert throughput into an indexed, pre-loaded table with 1 and 2 concurrent
#     pgbench clients (one row per transaction), and WAL bytes per inserted row;
#   - VACUUM time after deleting 10 % of the rows, with the index size before and
#     after, and after inserting as many new rows again (is freed space reused?);
# beside a table without index (heap-only baseline), and the vecann/pgvector ratios.
# See bench/README.md ("writes").

import os
import re
import statistics
import subprocess
import tempfile
import time

import datasets

DEFAULT_SOURCE = {"siftsmall": "bigann10k", "bigann10k": "siftsmall"}


def add_parser(sub, common):
    import argparse
    wr = sub.add_parser("writes", parents=[common],
                        help="insert throughput (pgbench), WAL per row, VACUUM after deletes",
                        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    wr.add_argument("--dataset", default="siftsmall", choices=datasets.DATASETS,
                    help="rows the table holds before the inserts (and the index is built on)")
    wr.add_argument("--rows", type=int, default=None,
                    help="limit the pre-loaded rows (random: its size, default 10000)")
    wr.add_argument("--insert-source", default=None,
                    help="dataset the inserted vectors come from (default: bigann10k for "
                         "siftsmall, else a random set of the same dimension with another seed)")
    wr.add_argument("--source-rows", type=int, default=50000,
                    help="vectors available for inserting: a random source has this many; a "
                         "dataset source smaller than this is repeated, each repetition with "
                         "Gaussian noise added (--source-noise), so that no vector is inserted "
                         "twice")
    wr.add_argument("--source-noise", type=float, default=0.02,
                    help="standard deviation of that noise, as a fraction of the source's "
                         "value range")
    wr.add_argument("--insert-runs", type=int, default=3,
                    help="pgbench runs per target and client count (fresh table each); "
                         "the median is reported")
    wr.add_argument("--m", type=int, default=16)
    wr.add_argument("--ef-construction", type=int, default=64)
    wr.add_argument("--clients", default="1,2", help="comma list of pgbench client counts")
    wr.add_argument("--insert-time", type=int, default=10, help="seconds of pgbench per run")
    wr.add_argument("--delete-percent", type=int, default=10,
                    help="rows deleted before the timed VACUUM (every id with id %% (100/p) = 0)")
    wr.add_argument("--vacuum-runs", type=int, default=3,
                    help="fresh table + index, delete, VACUUM this many times; median reported")
    wr.add_argument("--no-baseline", action="store_true",
                    help="skip the table without index")
    return wr


# ----------------------------------------------------------------------------- helpers

def _pgbench_path():
    bindir = subprocess.run(["pg_config", "--bindir"], stdout=subprocess.PIPE,
                            text=True).stdout.strip()
    path = os.path.join(bindir, "pgbench")
    return path if os.path.exists(path) else None


def run_insert_pgbench(db, guc_env, first, nsrc, clients, seconds):
    """pgbench inserting one row per transaction into w, each vector taken from w_src in
    turn (w_seq gives the ids, from `first`). Returns (result dict, error string)."""
    pgbench = _pgbench_path()
    if not pgbench:
        return None, "pgbench not found (install postgresql-contrib)"
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
        f.write("INSERT INTO w (id, embedding) SELECT n.id, s.embedding "
                "FROM (SELECT nextval('w_seq') AS id) n "
                "JOIN w_src s ON s.id = (n.id - :first) % :nsrc + 1;\n")
        script = f.name
    os.chmod(script, 0o644)
    env = dict(os.environ)
    env["PGOPTIONS"] = "-c jit=off" + guc_env
    cmd = [pgbench, "-n", "-c", str(clients), "-j", str(clients), "-T", str(seconds),
           "-M", "prepared", "-D", f"nsrc={nsrc}", "-D", f"first={first}", "-f", script, db]
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           env=env)
    finally:
        os.unlink(script)
    tps = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", p.stdout)
    done = re.search(r"number of transactions actually processed: (\d+)", p.stdout)
    failed = re.search(r"number of failed transactions: (\d+)", p.stdout)
    if p.returncode != 0 or not tps:
        return None, "pgbench failed: " + p.stdout.strip()[-600:]
    lat = re.search(r"latency average = ([0-9.]+) ms", p.stdout)
    return {"tps": float(tps.group(1)), "transactions": int(done.group(1)) if done else None,
            "failed": int(failed.group(1)) if failed else 0,
            "latency_ms": float(lat.group(1)) if lat else None,
            "clients": clients, "seconds": seconds}, None


class Bench:
    """One database (a target, or the heap-only baseline in vecann's database)."""

    def __init__(self, R, t, label, indexed):
        self.R, self.t, self.label, self.indexed = R, t, label, indexed
        self.c = t.conn

    def q1(self, sql, params=()):
        return self.c.execute(sql, params).fetchone()[0]

    # The insert position, not pg_current_wal_lsn() (the write position): a VACUUM has
    # no transaction id, so its commit does not flush, and its last records can still
    # sit in the WAL buffers when it returns.
    def lsn(self):
        return self.q1("SELECT pg_current_wal_insert_lsn()")

    def wal_since(self, lsn0):
        return int(self.q1("SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), %s)", (lsn0,)))

    def wal_stats(self):
        """Cluster-wide (full-page images, records) from pg_stat_wal; the pgbench
        backends report theirs when they exit, so wait a moment first."""
        time.sleep(0.5)
        return self.c.execute("SELECT wal_fpi, wal_records FROM pg_stat_wal").fetchone()

    def index_bytes(self):
        return self.q1("SELECT pg_relation_size('w_hnsw')") if self.indexed else None

    def fresh_table(self, base, args, opclass):
        """w (id int4 PRIMARY KEY, embedding) with the pre-loaded rows, the HNSW index,
        w_seq for the ids of inserted rows; autovacuum off; checkpointed; prewarmed."""
        t = self.t
        t.load("w", base, first_id=1, primary_key=True, storage=args.storage)
        self.c.execute("ALTER TABLE w SET (autovacuum_enabled = off)")
        self.c.execute("DROP SEQUENCE IF EXISTS w_seq")
        self.c.execute(f"CREATE SEQUENCE w_seq START {base.shape[0] + 1}")
        build_s = None
        if self.indexed:
            t0 = time.perf_counter()
            self.c.execute(f"CREATE INDEX w_hnsw ON w USING hnsw (embedding {opclass}) "
                           f"WITH (m = {args.m}, ef_construction = {args.ef_construction})")
            build_s = time.perf_counter() - t0
            t.prewarm("w_hnsw")
        t.prewarm("w")
        self.c.execute("CHECKPOINT")
        return build_s

    def vecann_check(self):
        if not (self.indexed and self.t.name == "vecann"):
            return None
        row = self.c.execute("SELECT missing_rows, cardinality(problems), "
                             "array_to_string(problems, '; ') FROM hnsw_check('w_hnsw')").fetchone()
        return "ok" if row[0] == 0 and row[1] == 0 else f"{row[0]} missing, {row[2]}"


def extend_source(base, rows, noise, seed):
    """`base` repeated up to `rows` rows; every repetition after the first gets Gaussian
    noise of sd `noise` x (max - min of base), so that all vectors are distinct but keep
    the data's distribution (near neighbours of real vectors)."""
    import numpy as np
    n = base.shape[0]
    if rows <= n:
        return base
    rng = np.random.default_rng(seed + 11)
    sd = noise * float(base.max() - base.min())
    parts = [base]
    while sum(p.shape[0] for p in parts) < rows:
        parts.append(base + rng.normal(0.0, sd, base.shape).astype(np.float32))
    return np.concatenate(parts)[:rows].astype(np.float32)


def insert_run(R, b, ds, args, opclass, nsrc, clients):
    """One timed pgbench insert run on a fresh table + index."""
    build_s = b.fresh_table(ds.base, args, opclass)
    size0 = b.index_bytes()
    n0 = b.q1("SELECT count(*) FROM w")
    fpi0, rec0 = b.wal_stats()
    lsn0 = b.lsn()
    res, err = run_insert_pgbench(b.t.db, "", ds.n + 1, nsrc, clients, args.insert_time)
    if err:
        return {"clients": clients, "error": err}
    rows = b.q1("SELECT count(*) FROM w") - n0
    wal = b.wal_since(lsn0)
    fpi1, rec1 = b.wal_stats()
    rows = max(rows, 1)
    return {"clients": clients, "rows": rows, "rows_per_s": res["tps"], "pgbench": res,
            "wal_bytes": wal, "wal_per_row": wal / rows, "fpi_per_row": (fpi1 - fpi0) / rows,
            "wal_records_per_row": (rec1 - rec0) / rows, "build_s": build_s,
            "index_bytes_before": size0, "index_bytes_after": b.index_bytes(),
            "check": b.vecann_check(), "source_wrapped": rows > nsrc}


# ----------------------------------------------------------------------------- main

def cmd_writes(args, targets, R):
    log = R.log
    op, opclass = R.METRIC_SQL[args.metric]
    ds = datasets.load(args.dataset, rows=args.rows or (10000 if args.dataset == "random" else None),
                       dim=args.dim, nq=1, seed=args.seed)
    src_name = args.insert_source or DEFAULT_SOURCE.get(args.dataset, "random")
    if src_name == "random":
        src = datasets.random_dataset(args.source_rows, ds.dim, nq=1, seed=args.seed + 7)
        src_vectors, src_desc = src.base, src.name
    else:
        src = datasets.load(src_name)
        src_vectors, src_desc = extend_source(src.base, args.source_rows, args.source_noise,
                                              args.seed), src.name
        if src_vectors.shape[0] > src.n:
            src_desc = (f"{src.name} repeated to {src_vectors.shape[0]:,} rows, repetitions "
                        f"with noise sd {args.source_noise:g} x value range")
    if src.dim != ds.dim:
        raise SystemExit(f"insert source {src.name} has {src.dim} dimensions, "
                         f"the table {ds.dim}")
    nsrc = src_vectors.shape[0]
    clients = [int(x) for x in args.clients.split(",") if x.strip()]
    ndel_every = max(1, round(100 / max(args.delete_percent, 1)))
    log(f"\n== writes: table pre-loaded with {ds.name} ({ds.n:,} x {ds.dim}), inserted vectors "
        f"from {src_desc} ({nsrc:,}), metric {args.metric} ({opclass}), m={args.m}, "
        f"ef_construction={args.ef_construction}; pgbench {args.insert_time} s per run with "
        f"{clients} clients; VACUUM after deleting every {ndel_every}th row, "
        f"{args.vacuum_runs} runs")

    if args.server == "scratch":
        # no timed checkpoint in the middle of one target's run and not the other's, and
        # no autovacuum worker taking CPU or holding back the xmin horizon (so that the
        # timed VACUUM can remove the deleted rows)
        targets[0].conn.execute("ALTER SYSTEM SET checkpoint_timeout = '1h'")
        targets[0].conn.execute("ALTER SYSTEM SET autovacuum = off")
        targets[0].conn.execute("SELECT pg_reload_conf()")
    benches = []
    for t in targets:
        t.probe(ds.dim)
        t.load("w_src", src_vectors, first_id=1, primary_key=True)
        benches.append(Bench(R, t, f"{t.name} {t.version}", True))
    if not args.no_baseline:
        base_t = next((t for t in targets if t.name == "vecann"), targets[0])
        benches.append(Bench(R, base_t, "no index (heap only)", False))

    # --- inserts: per run and client count, each bench in turn on a fresh table + index
    inserts = {b.label: [] for b in benches}
    for run in range(max(args.insert_runs, 1)):
        for c in clients:
            for b in benches:
                r = insert_run(R, b, ds, args, opclass, nsrc, c)
                r["run"] = run + 1
                inserts[b.label].append(r)
                if "error" in r:
                    log(f"   {b.label}: {r['error']}")
                    continue
                log(f"   {b.label:24s} run {run + 1}, {c} client(s): {r['rows_per_s']:9,.1f} rows/s "
                    f"({r['rows']:,} rows, {r['pgbench']['latency_ms']:.2f} ms/insert), "
                    f"WAL {r['wal_per_row']:,.0f} B/row ({r['wal_records_per_row']:.1f} records, "
                    f"{r['fpi_per_row']:.2f} full-page images)"
                    + (f", index {R._fmt_bytes(r['index_bytes_before'])} -> "
                       f"{R._fmt_bytes(r['index_bytes_after'])}" if b.indexed else "")
                    + (f", hnsw_check {r['check']}" if r["check"] else "")
                    + (f"  [{r['pgbench']['failed']} failed transactions]"
                       if r["pgbench"]["failed"] else ""))
    ins_med = {}
    for label, runs in inserts.items():
        ins_med[label] = {}
        for c in clients:
            ok = [r for r in runs if r["clients"] == c and "error" not in r]
            if ok:
                ins_med[label][c] = {k: statistics.median(r[k] for r in ok)
                                     for k in ("rows_per_s", "wal_per_row", "fpi_per_row",
                                               "wal_records_per_row")}
                ins_med[label][c]["rows_per_s_runs"] = [r["rows_per_s"] for r in ok]

    # --- vacuum: fresh table + index, delete every k-th row, VACUUM, re-insert as many
    vac = {b.label: [] for b in benches}
    for run in range(max(args.vacuum_runs, 1)):
        for b in benches:
            b.fresh_table(ds.base, args, opclass)
            size0 = b.index_bytes()
            deleted = b.c.execute(f"DELETE FROM w WHERE id % {ndel_every} = 0").rowcount
            b.c.execute("CHECKPOINT")
            lsn0 = b.lsn()
            notices = []
            handler = lambda d: notices.append(d.message_primary or "")  # noqa: E731
            b.c.add_notice_handler(handler)
            t0 = time.perf_counter()
            try:
                b.c.execute("VACUUM (INDEX_CLEANUP ON, VERBOSE) w")
            finally:
                vac_s = time.perf_counter() - t0
                b.c.remove_notice_handler(handler)
            verbose = "\n".join(notices)
            m = re.search(r"tuples: (\d+) removed, \d+ remain, (\d+) are dead but not yet "
                          r"removable", verbose)
            removed = int(m.group(1)) if m else None
            if removed != deleted:
                log(f"   WARNING: {b.label}: VACUUM removed {removed} of {deleted} deleted rows "
                    f"({m.group(2) if m else '?'} dead but not yet removable): this run does not "
                    "measure the index's bulk delete")
            wal = b.wal_since(lsn0)
            size1 = b.index_bytes()
            check_after_vacuum = b.vecann_check()
            t0 = time.perf_counter()
            b.c.execute("INSERT INTO w (id, embedding) SELECT nextval('w_seq'), embedding "
                        "FROM w_src ORDER BY id LIMIT %s", (deleted,))
            reinsert_s = time.perf_counter() - t0
            size2 = b.index_bytes()
            r = {"run": run + 1, "deleted": deleted, "removed": removed, "vacuum_s": vac_s,
                 "vacuum_wal_bytes": wal, "vacuum_verbose": verbose,
                 "index_bytes_before": size0, "index_bytes_after_vacuum": size1,
                 "index_bytes_after_reinsert": size2, "reinsert_s": reinsert_s,
                 "check_after_vacuum": check_after_vacuum, "check_after_reinsert": b.vecann_check()}
            vac[b.label].append(r)
            log(f"   {b.label:24s} vacuum run {run + 1}: deleted {deleted:,}, VACUUM {vac_s:.3f} s "
                f"(WAL {R._fmt_bytes(wal)})"
                + (f", index {R._fmt_bytes(size0)} -> {R._fmt_bytes(size1)} -> "
                   f"{R._fmt_bytes(size2)} after re-inserting {deleted:,} rows "
                   f"({reinsert_s:.2f} s)" if size0 else f", re-insert {reinsert_s:.2f} s")
                + (f", hnsw_check {r['check_after_vacuum']} / {r['check_after_reinsert']}"
                   if r["check_after_vacuum"] else ""))
    for t in targets:
        if not args.keep_tables:
            t.conn.execute("DROP TABLE IF EXISTS w")
            t.conn.execute("DROP TABLE IF EXISTS w_src")
            t.conn.execute("DROP SEQUENCE IF EXISTS w_seq")

    # --- summary
    vac_med = {}
    for label, runs in vac.items():
        med = statistics.median(r["vacuum_s"] for r in runs)
        last = runs[-1]
        vac_med[label] = {"vacuum_s": med, "vacuum_s_runs": [r["vacuum_s"] for r in runs],
                          "deleted": last["deleted"],
                          "vacuum_wal_bytes": statistics.median(r["vacuum_wal_bytes"] for r in runs),
                          "index_bytes_before": last["index_bytes_before"],
                          "index_bytes_after_vacuum": last["index_bytes_after_vacuum"],
                          "index_bytes_after_reinsert": last["index_bytes_after_reinsert"],
                          "reinsert_s": statistics.median(r["reinsert_s"] for r in runs)}
    log(f"\n== writes summary: {ds.name} ({ds.n:,} x {ds.dim}) + inserts from {src_desc}, "
        f"m={args.m}, ef_construction={args.ef_construction}; medians of "
        f"{args.insert_runs} insert runs, {args.vacuum_runs} vacuum runs")
    headers = ["target"]
    for c in clients:
        headers += [f"rows/s {c}c (runs)", f"WAL/row {c}c", f"FPI/row {c}c"]
    rows = []
    for b in benches:
        row = [b.label]
        for c in clients:
            r = ins_med[b.label].get(c, {})
            row += [R._fmt(r.get("rows_per_s"), 1) + (
                        " (" + ", ".join(f"{x:,.0f}" for x in r["rows_per_s_runs"]) + ")"
                        if r else ""),
                    R._fmt_bytes(r.get("wal_per_row")), R._fmt(r.get("fpi_per_row"), 2)]
        rows.append(row)
    R.print_table(headers, rows)
    if any(r.get("source_wrapped") for b in benches if b.indexed for r in inserts[b.label]):
        log(f"  (some runs inserted more than the {nsrc:,} source vectors: duplicates were "
            f"inserted; raise --source-rows)")
    log("")
    R.print_table(["target", "VACUUM s (median)", "runs", "WAL", "index before",
                   "after VACUUM", "after re-insert"],
                  [[label, R._fmt(v["vacuum_s"], 3),
                    ", ".join(f"{x:.3f}" for x in v["vacuum_s_runs"]),
                    R._fmt_bytes(v["vacuum_wal_bytes"]), R._fmt_bytes(v["index_bytes_before"]),
                    R._fmt_bytes(v["index_bytes_after_vacuum"]),
                    R._fmt_bytes(v["index_bytes_after_reinsert"])] for label, v in vac_med.items()])
    comparison = None
    a = next((b for b in benches if b.indexed and b.t.name == "vecann"), None)
    p = next((b for b in benches if b.indexed and b.t.name == "pgvector"), None)
    if a and p:
        def by_c(label, c, key):
            return ins_med[label].get(c, {}).get(key)
        comparison = {
            "insert_rows_per_s_ratio": {str(c): R.ratio(by_c(a.label, c, "rows_per_s"),
                                                        by_c(p.label, c, "rows_per_s"))
                                        for c in clients},
            "wal_per_row_ratio": {str(c): R.ratio(by_c(a.label, c, "wal_per_row"),
                                                  by_c(p.label, c, "wal_per_row"))
                                  for c in clients},
            "vacuum_time_ratio": R.ratio(vac_med[a.label]["vacuum_s"], vac_med[p.label]["vacuum_s"]),
            "index_size_ratio": R.ratio(vac_med[a.label]["index_bytes_before"],
                                        vac_med[p.label]["index_bytes_before"]),
        }
        log("\n== vecann / pgvector ratios (insert rows/s: >1 means vecann faster, target >= 1.5; "
            "WAL/row, VACUUM time, index size: <1 means vecann smaller/faster, VACUUM target <= 1)")
        R.print_table([f"rows/s {c}c" for c in clients] + [f"WAL/row {c}c" for c in clients]
                      + ["VACUUM time", "index size"],
                      [[R._fmt(comparison["insert_rows_per_s_ratio"][str(c)], 2) for c in clients]
                       + [R._fmt(comparison["wal_per_row_ratio"][str(c)], 2) for c in clients]
                       + [R._fmt(comparison["vacuum_time_ratio"], 2),
                          R._fmt(comparison["index_size_ratio"], 2)]])
    return {"inserts": inserts, "insert_summary": {k: {str(c): v for c, v in d.items()}
                                                   for k, d in ins_med.items()},
            "vacuum": vac, "vacuum_summary": vac_med,
            "comparison": comparison,
            "dataset": {"name": ds.name, "rows": ds.n, "dim": ds.dim, "source": src_desc,
                        "source_rows": nsrc}}
