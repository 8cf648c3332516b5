#!/usr/bin/python3
# vecann benchmark driver: measures vecann (and pgvector, when it is installed on the
# same server) on exact search (`exact`: sequential-scan ORDER BY <-> LIMIT 10), on
# HNSW approximate search (`ann`: build time, size, WAL, recall@10 vs QPS over an
# ef_search sweep, pgbench throughput) and on writes to an indexed table (`writes`, in
# writes.py: insert throughput, WAL per row, VACUUM after deletes). Each target lives
# in its own database of one server: bench_vecann (CREATE EXTENSION vecann, GUC
# vecann.*) and bench_pgvector (CREATE EXTENSION vector, GUC hnsw.*). See
# bench/README.md.

import argparse
import datetime
import json
import math
import os
import platform
import re
import shlex
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np
import psycopg
from psycopg import sql
from psycopg.adapt import Dumper
from psycopg import pq
from psycopg.pq import Format

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import datasets  # noqa: E402
import hnswlib_ref  # noqa: E402
import ivf  # noqa: E402
import writes  # noqa: E402

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_DIR = os.path.dirname(BENCH_DIR)
SCRATCH_SH = os.path.join(REPO_DIR, "scripts", "scratch-pg.sh")

TARGETS = {
    "vecann": {"db": "bench_vecann", "ext": "vecann", "guc": "vecann"},
    "pgvector": {"db": "bench_pgvector", "ext": "vector", "guc": "hnsw"},
}
METRIC_SQL = {  # metric -> (operator, operator class)
    "l2": ("<->", "vector_l2_ops"),
    "cosine": ("<=>", "vector_cosine_ops"),
    "ip": ("<#>", "vector_ip_ops"),
}
SETTINGS_SHOWN = (
    "server_version", "shared_buffers", "work_mem", "maintenance_work_mem",
    "max_parallel_workers_per_gather", "max_parallel_maintenance_workers",
    "max_parallel_workers", "max_worker_processes", "jit", "wal_level", "fsync",
    "synchronous_commit", "full_page_writes", "huge_pages", "plan_cache_mode",
)


def log(msg=""):
    print(msg, flush=True)


# ============================================================================ server

class Server:
    """A scratch cluster made with scripts/scratch-pg.sh, or the one in PGHOST/PGPORT."""

    def __init__(self, mode, conf_lines):
        self.mode = mode
        self.conf_lines = conf_lines
        self.scratch_dir = None
        self.pgdata = None

    def start(self):
        if self.mode == "existing":
            log(f"server: existing (PGHOST={os.environ.get('PGHOST', '')!s} "
                f"PGPORT={os.environ.get('PGPORT', '')!s})")
            return
        script = ('source "$0" && scratch_pg_start "$@" >&2 && '
                  'printf "SCRATCH_PG_DIR=%s\\nPGDATA=%s\\nPGHOST=%s\\nPGPORT=%s\\nPGUSER=%s\\n" '
                  '"$SCRATCH_PG_DIR" "$PGDATA" "$PGHOST" "$PGPORT" "$PGUSER"')
        out = subprocess.run(["bash", "-c", script, SCRATCH_SH] + self.conf_lines,
                             check=True, stdout=subprocess.PIPE, text=True).stdout
        env = dict(line.split("=", 1) for line in out.strip().splitlines() if "=" in line)
        self.scratch_dir, self.pgdata = env["SCRATCH_PG_DIR"], env["PGDATA"]
        for k in ("PGHOST", "PGPORT", "PGUSER"):
            os.environ[k] = env[k]
        os.environ["PGDATABASE"] = "postgres"
        log(f"server: scratch cluster in {self.scratch_dir} (port {env['PGPORT']}), "
            f"extra settings: {'; '.join(self.conf_lines) or 'none'}")

    def stop(self):
        if self.scratch_dir is None:
            return
        script = 'source "$0" && SCRATCH_PG_DIR="$1" && PGDATA="$2" && scratch_pg_stop'
        subprocess.run(["bash", "-c", script, SCRATCH_SH, self.scratch_dir, self.pgdata],
                       check=False)
        log(f"server: scratch cluster {self.scratch_dir} removed")
        self.scratch_dir = None


def connect(dbname="postgres"):
    return psycopg.connect(dbname=dbname, autocommit=True)


def server_info(conn):
    rows = conn.execute("SELECT name, current_setting(name) FROM pg_settings WHERE name = ANY(%s)",
                        (list(SETTINGS_SHOWN),)).fetchall()
    info = dict(rows)
    return {k: info[k] for k in SETTINGS_SHOWN if k in info}


def machine_info():
    model, cores = platform.processor() or "?", os.cpu_count()
    try:
        out = subprocess.run(["lscpu"], stdout=subprocess.PIPE, text=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    mem = None
    try:
        with open("/proc/meminfo") as f:
            mem = int(f.readline().split()[1]) * 1024
    except OSError:
        pass
    return {"cpu": model, "cores": cores, "memory": _fmt_bytes(mem) if mem else "?",
            "kernel": platform.release()}


def repo_commit():
    """The vecann source the installed extension was presumably built from."""
    try:
        return subprocess.run(["git", "-C", REPO_DIR, "describe", "--always", "--dirty"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              text=True).stdout.strip() or "?"
    except OSError:
        return "?"


def installed_library(name):
    """Path and modification time of an installed extension library."""
    try:
        libdir = subprocess.run(["pg_config", "--pkglibdir"], stdout=subprocess.PIPE,
                                text=True).stdout.strip()
        path = os.path.join(libdir, name + ".so")
        mtime = datetime.datetime.fromtimestamp(os.path.getmtime(path)).astimezone()
        return f"{path} ({mtime.isoformat(timespec='seconds')})"
    except OSError:
        return None


def loadavg():
    try:
        return " ".join(open("/proc/loadavg").read().split()[:3])
    except OSError:
        return "?"


# ============================================================================ vectors on the wire

class Vec:
    """A numpy float32 vector to pass as a query parameter of type vector."""
    __slots__ = ("a",)

    def __init__(self, a):
        self.a = a


def register_vector(conn):
    """Dumpers for Vec with the `vector` type oid of this database, in both formats
    (%b placeholders: binary wire format int16 dim, int16 0, float4 big-endian each;
    %t placeholders: the text form '[1,2,3]')."""
    oid = conn.execute("SELECT 'vector'::regtype::oid").fetchone()[0]

    class VecBinary(Dumper):
        format = Format.BINARY

        def dump(self, obj):
            a = obj.a
            return struct.pack(">hh", a.shape[0], 0) + a.astype(">f4").tobytes()

    class VecText(Dumper):
        format = Format.TEXT

        def dump(self, obj):
            return ("[" + ",".join("%.9g" % x for x in obj.a.tolist()) + "]").encode()

    VecBinary.oid = oid
    VecText.oid = oid
    conn.adapters.register_dumper(Vec, VecText)
    conn.adapters.register_dumper(Vec, VecBinary)
    return oid


PGCOPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
PGCOPY_TRAILER = struct.pack(">h", -1)


def copy_binary_rows(ids, vecs):
    """COPY BINARY tuples (int4 id, vector) for a block of rows, built with numpy."""
    n, d = vecs.shape
    dt = np.dtype([("nf", ">i2"), ("l1", ">i4"), ("id", ">i4"), ("l2", ">i4"),
                   ("dim", ">i2"), ("unused", ">i2"), ("v", ">f4", (d,))])
    rec = np.empty(n, dtype=dt)
    rec["nf"] = 2
    rec["l1"] = 4
    rec["id"] = ids
    rec["l2"] = 4 + 4 * d
    rec["dim"] = d
    rec["unused"] = 0
    rec["v"] = vecs
    return rec.tobytes()


def copy_text_rows(ids, vecs):
    """COPY text lines `id<TAB>[v1,v2,...]` for a block of rows."""
    lines = []
    for i, row in zip(ids.tolist(), vecs.tolist()):
        lines.append("%d\t[%s]\n" % (i, ",".join("%.9g" % x for x in row)))
    return "".join(lines).encode()


def probe_binary(conn, dim):
    """Does this target accept the binary COPY/parameter format, and round-trip it?"""
    v = np.arange(dim, dtype=np.float32) / 7.0 - 3.0
    ok_copy = ok_param = False
    try:
        conn.execute("DROP TABLE IF EXISTS _probe")
        conn.execute("CREATE TEMP TABLE _probe (id int4, embedding vector(%d))" % dim)
        with conn.cursor().copy("COPY _probe (id, embedding) FROM STDIN (FORMAT BINARY)") as cp:
            cp.write(PGCOPY_HEADER + copy_binary_rows(np.array([1]), v[None, :]) + PGCOPY_TRAILER)
        txt = conn.execute("SELECT embedding::text FROM _probe").fetchone()[0]
        got = np.array([float(x) for x in txt.strip("[]").split(",")], dtype=np.float32)
        ok_copy = bool(got.shape == v.shape and np.allclose(got, v, rtol=1e-6))
    except psycopg.Error as e:
        log(f"  binary COPY probe failed ({type(e).__name__}: {str(e).strip()}); using text COPY")
    try:
        d = conn.execute("SELECT %b <-> %t", (Vec(v), Vec(v))).fetchone()[0]
        ok_param = abs(d) < 1e-4
    except psycopg.Error as e:
        log(f"  binary parameter probe failed ({type(e).__name__}: {str(e).strip()}); "
            "sending query vectors as text")
    try:
        conn.execute("DROP TABLE IF EXISTS _probe")
    except psycopg.Error:
        pass
    return bool(ok_copy), bool(ok_param)


# ============================================================================ targets

class Target:
    def __init__(self, name):
        self.name = name
        self.db = TARGETS[name]["db"]
        self.ext = TARGETS[name]["ext"]
        self.guc = TARGETS[name]["guc"]
        self.conn = None
        self.version = None
        self.binary_copy = self.binary_param = False
        self.error = None

    def open(self, admin):
        """Create the database and extension; returns False (with self.error) if not possible."""
        if not admin.execute("SELECT 1 FROM pg_available_extensions WHERE name = %s",
                             (self.ext,)).fetchone():
            self.error = f"extension {self.ext!r} is not installed on this server"
            return False
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (self.db,)).fetchone():
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.db)))
        self.conn = connect(self.db)
        try:
            self.conn.execute(sql.SQL("CREATE EXTENSION IF NOT EXISTS {}").format(
                sql.Identifier(self.ext)))
        except psycopg.Error as e:
            self.error = f"CREATE EXTENSION {self.ext} failed: {str(e).strip()}"
            self.conn.close()
            self.conn = None
            return False
        self.version = self.conn.execute("SELECT extversion FROM pg_extension WHERE extname = %s",
                                         (self.ext,)).fetchone()[0]
        self.vector_oid = register_vector(self.conn)
        self.session_defaults()
        return True

    def session_defaults(self):
        self.conn.execute("SET jit = off")

    def probe(self, dim):
        self.binary_copy, self.binary_param = probe_binary(self.conn, dim)
        self.ph = "%b" if self.binary_param else "%t"

    def set_guc(self, name, value):
        self.conn.execute(f"SET {self.guc}.{name} = {int(value)}")
        shown = self.conn.execute(f"SHOW {self.guc}.{name}").fetchone()[0]
        if str(shown) != str(int(value)):
            raise RuntimeError(f"{self.guc}.{name} is {shown}, wanted {value}")

    def load(self, table, vectors, first_id=0, storage=None, primary_key=False, chunk=20000):
        """(Re)create `table (id int4, embedding vector(d))` and COPY the rows in."""
        c = self.conn
        n, d = vectors.shape
        c.execute(f"DROP TABLE IF EXISTS {table}")
        pk = " PRIMARY KEY" if primary_key else ""
        c.execute(f"CREATE TABLE {table} (id int4{pk}, embedding vector({d}))")
        if storage and storage != "default":
            c.execute(f"ALTER TABLE {table} ALTER COLUMN embedding SET STORAGE {storage}")
        fmt = "BINARY" if self.binary_copy else "TEXT"
        t0 = time.perf_counter()
        with c.cursor().copy(f"COPY {table} (id, embedding) FROM STDIN (FORMAT {fmt})") as cp:
            if self.binary_copy:
                cp.write(PGCOPY_HEADER)
            for s in range(0, n, chunk):
                ids = np.arange(first_id + s, first_id + min(s + chunk, n), dtype=np.int64)
                block = vectors[s:s + chunk]
                cp.write(copy_binary_rows(ids, block) if self.binary_copy
                         else copy_text_rows(ids, block))
            if self.binary_copy:
                cp.write(PGCOPY_TRAILER)
        load_s = time.perf_counter() - t0
        c.execute(f"VACUUM (ANALYZE) {table}")
        return load_s

    def prewarm(self, table):
        try:
            self.conn.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
        except psycopg.Error:
            return False
        self.conn.execute("SELECT pg_prewarm(%s::regclass)", (table,))
        toast = self.conn.execute("SELECT reltoastrelid FROM pg_class WHERE oid = %s::regclass",
                                  (table,)).fetchone()[0]
        if toast:
            self.conn.execute("SELECT pg_prewarm(%s::oid::regclass)", (toast,))
        return True

    def table_sizes(self, table):
        return self.conn.execute(
            "SELECT pg_relation_size(c.oid), "
            "       COALESCE(pg_relation_size(NULLIF(c.reltoastrelid, 0)), 0), "
            "       pg_total_relation_size(c.oid) "
            "FROM pg_class c WHERE c.oid = %s::regclass", (table,)).fetchone()

    def explain(self, query, params=()):
        rows = self.conn.execute("EXPLAIN (COSTS OFF) " + query, params).fetchall()
        return [r[0] for r in rows]

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


class Prepared:
    """A server-side prepared statement `... $1 ...` (one vector parameter) run through
    libpq directly: the per-query client overhead is about half that of a psycopg cursor,
    which matters when a query takes a fraction of a millisecond."""
    _count = 0

    def __init__(self, t, query):
        Prepared._count += 1
        self.t, self.pg = t, t.conn.pgconn
        self.name = f"bench_q{Prepared._count}".encode()
        self.binary = t.binary_param
        r = self.pg.prepare(self.name, query.encode(), [t.vector_oid])
        if r.status != pq.ExecStatus.COMMAND_OK:
            raise RuntimeError(f"PREPARE failed: {r.error_message.decode(errors='replace')}")

    def encode(self, v):
        if self.binary:
            return struct.pack(">hh", v.shape[0], 0) + v.astype(">f4").tobytes()
        return ("[" + ",".join("%.9g" % x for x in v.tolist()) + "]").encode()

    def run(self, param):
        r = self.pg.exec_prepared(self.name, [param], [1 if self.binary else 0], 0)
        if r.status != pq.ExecStatus.TUPLES_OK:
            raise RuntimeError(f"query failed: {r.error_message.decode(errors='replace')}")
        return [int(r.get_value(i, 0)) for i in range(r.ntuples)]

    def close(self):
        self.t.conn.execute(f"DEALLOCATE {self.name.decode()}")


def open_targets(args, admin):
    have_pgvector = bool(admin.execute(
        "SELECT 1 FROM pg_available_extensions WHERE name = 'vector'").fetchone())
    if not have_pgvector and args.target != "vecann":
        log("pgvector is not installed on this server (no 'vector' in pg_available_extensions)"
            + (": measuring vecann only" if args.target == "both" else ""))
    wanted = {"both": ["vecann", "pgvector"], "vecann": ["vecann"],
              "pgvector": ["pgvector"]}[args.target]
    if args.target == "both" and not have_pgvector:
        wanted = ["vecann"]
    targets, skipped = [], {}
    for name in wanted:
        t = Target(name)
        if t.open(admin):
            log(f"target {name}: database {t.db}, extension {t.ext} {t.version}, "
                f"GUC prefix {t.guc}.")
            targets.append(t)
        else:
            log(f"target {name}: SKIPPED: {t.error}")
            skipped[name] = t.error
    return targets, skipped


# ============================================================================ helpers

def _fmt_bytes(n):
    if n is None:
        return "-"
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024.0


def _fmt(v, nd=1):
    if v is None:
        return "-"
    if isinstance(v, float):
        if v != v:
            return "-"
        return f"{v:,.{nd}f}"
    return str(v)


def print_table(headers, rows, indent="  "):
    cols = [[str(h) for h in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cols) for i in range(len(headers))]
    line = indent + " | ".join(h.ljust(w) for h, w in zip(cols[0], widths))
    log(line)
    log(indent + "-+-".join("-" * w for w in widths))
    for r in cols[1:]:
        log(indent + " | ".join(c.rjust(w) if i else c.ljust(w)
                                for i, (c, w) in enumerate(zip(r, widths))))


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def _ident(name):
    return re.sub(r"[^a-z0-9_]", "_", name.lower())


def plan_summary(lines):
    """The plan nodes, compact: 'Limit > Gather Merge (2 workers) > Sort > Parallel Seq Scan'."""
    parts = []
    for ln in lines:
        s = ln.strip()
        if s.startswith("->"):
            s = s[2:].strip()
        elif parts and ln.startswith(" "):
            # a property line of the previous node
            if s.startswith("Workers Planned:"):
                parts[-1] += " (" + s.split(":", 1)[1].strip() + " workers)"
            continue
        if s:
            parts.append(s)
    return " > ".join(parts)


# ============================================================================ exact

def cmd_exact(args, targets):
    op = METRIC_SQL[args.metric][0]
    results = []
    names = [s.strip() for s in args.datasets.split(",") if s.strip()]
    for dsname in names:
        if dsname == "random":
            ds = datasets.random_dataset(args.rows, args.dim, nq=max(args.queries, 1), seed=args.seed)
        elif dsname == "fashion-mnist":
            ds = datasets.fashion_mnist(args.rows)
        else:
            ds = datasets.load(dsname, rows=args.rows)
        qv = ds.queries[:args.queries]
        table = "exact_" + _ident(ds.name.split("-s")[0] if dsname == "random" else dsname)
        log(f"\n== exact: {ds.name} ({ds.n:,} x {ds.dim}), {len(qv)} queries x {args.runs} runs "
            f"after {args.warmup} warm-up, metric {args.metric} ({op}); "
            f"runs alternate between targets")
        # reference answers for the measured queries (brute force, float64)
        ref_ids, ref_dist = datasets.brute_force(ds.base, qv, k=10, metric=args.metric,
                                                 verbose=False)
        rows = {}
        for t in targets:
            t.probe(ds.dim)
            log(f"-- {t.name}: loading ({'binary' if t.binary_copy else 'text'} COPY) ...")
            load_s = t.load(table, ds.base, storage=args.storage)
            heap, toast, total = t.table_sizes(table)
            prewarmed = t.prewarm(table)
            log(f"   loaded {ds.n:,} rows in {load_s:.1f} s ({ds.n / load_s:,.0f} rows/s); "
                f"heap {_fmt_bytes(heap)}, toast {_fmt_bytes(toast)}, total {_fmt_bytes(total)}"
                f"{', prewarmed' if prewarmed else ''}")
            rows[t.name] = {"dataset": ds.name, "rows": ds.n, "dim": ds.dim, "target": t.name,
                            "version": t.version, "load_s": load_s, "heap_bytes": heap,
                            "toast_bytes": toast, "total_bytes": total,
                            "copy_format": "binary" if t.binary_copy else "text",
                            "param_format": "binary" if t.binary_param else "text"}
        for mode in ("serial", "parallel"):
            st, params, plans, workers, qps, first = {}, {}, {}, {}, {}, {}
            for t in targets:
                if mode == "serial":
                    t.conn.execute("SET max_parallel_workers_per_gather = 0")
                else:
                    t.conn.execute("RESET max_parallel_workers_per_gather")
                workers[t.name] = t.conn.execute("SHOW max_parallel_workers_per_gather").fetchone()[0]
                plans[t.name] = t.explain(
                    f"SELECT id FROM {table} ORDER BY embedding {op} {t.ph} LIMIT 10", (Vec(qv[0]),))
                st[t.name] = Prepared(t, f"SELECT id FROM {table} ORDER BY embedding {op} $1 LIMIT 10")
                params[t.name] = [st[t.name].encode(v) for v in qv]
                for i in range(args.warmup):
                    st[t.name].run(params[t.name][i % len(qv)])
                qps[t.name] = []
            # runs alternate between the targets so that both see the same background load
            for r in range(args.runs):
                for t in targets:
                    t0 = time.perf_counter()
                    ids = [st[t.name].run(p) for p in params[t.name]]
                    qps[t.name].append(len(qv) / (time.perf_counter() - t0))
                    first.setdefault(t.name, ids)
            for t in targets:
                st[t.name].close()
                t.conn.execute("RESET max_parallel_workers_per_gather")
                med = statistics.median(qps[t.name])
                id_rec, tie_rec = datasets.recall_at(10, first[t.name], ref_ids, ref_dist, ds.base,
                                                     qv, args.metric)
                ns_row = 1e9 / (med * ds.n)
                log(f"   {t.name:8s} {mode:8s} (max_parallel_workers_per_gather={workers[t.name]}): "
                    f"{med:,.2f} QPS (runs: {', '.join(f'{x:.2f}' for x in qps[t.name])}), "
                    f"{ns_row:.1f} ns/row; recall vs brute force {tie_rec:.4f}; "
                    f"plan: {plan_summary(plans[t.name])}")
                rows[t.name][mode] = {"qps": med, "qps_runs": qps[t.name], "ns_per_row": ns_row,
                                      "workers_per_gather": workers[t.name], "recall": tie_rec,
                                      "id_recall": id_rec, "plan": plans[t.name]}
        for t in targets:
            if not args.keep_tables:
                t.conn.execute(f"DROP TABLE IF EXISTS {table}")
            results.append(rows[t.name])
    # summary
    log("\n== exact search summary (QPS, one client, prepared statement; higher is better)")
    headers = ["dataset", "target", "QPS serial", "ns/row serial", "QPS parallel", "load s",
               "table size", "recall"]
    rows = []
    for r in results:
        rows.append([f"{r['dataset']} ({r['rows']:,}x{r['dim']})", f"{r['target']} {r['version']}",
                     _fmt(r["serial"]["qps"], 2), _fmt(r["serial"]["ns_per_row"], 1),
                     _fmt(r["parallel"]["qps"], 2), _fmt(r["load_s"], 1),
                     _fmt_bytes(r["total_bytes"]),
                     _fmt(min(r["serial"]["recall"], r["parallel"]["recall"]), 4)])
    print_table(headers, rows)
    comparison = []
    by = {(r["dataset"], r["target"]): r for r in results}
    for ds in dict.fromkeys(r["dataset"] for r in results):
        a, b = by.get((ds, "vecann")), by.get((ds, "pgvector"))
        if a and b:
            comparison.append({
                "dataset": ds,
                "qps_serial_ratio": ratio(a["serial"]["qps"], b["serial"]["qps"]),
                "qps_parallel_ratio": ratio(a["parallel"]["qps"], b["parallel"]["qps"]),
                "load_time_ratio": ratio(a["load_s"], b["load_s"]),
                "table_size_ratio": ratio(a["total_bytes"], b["total_bytes"]),
            })
    if comparison:
        log("\n== vecann / pgvector ratios (QPS: >1 means vecann faster; load time, size: <1 means vecann smaller)")
        print_table(["dataset", "QPS serial", "QPS parallel", "load time", "table size"],
                    [[c["dataset"], _fmt(c["qps_serial_ratio"], 2), _fmt(c["qps_parallel_ratio"], 2),
                      _fmt(c["load_time_ratio"], 2), _fmt(c["table_size_ratio"], 2)]
                     for c in comparison])
    return {"results": results, "comparison": comparison}


# ============================================================================ ann

def qps_at_recall(points, target):
    """QPS at a given recall, interpolated (linear in recall, log in QPS) between the two
    sweep points that bracket it. Returns (qps, note): note is 'interp', or 'lower bound'
    when the lowest ef_search already exceeds the target recall, or (None, 'not reached')."""
    pts = sorted((p["recall"], p["qps"]) for p in points if p.get("qps"))
    if not pts or pts[-1][0] < target:
        return None, "not reached"
    # Pareto frontier: best QPS at >= each recall
    for i, (r, q) in enumerate(pts):
        if r >= target:
            if i == 0:
                return q, "lower bound"
            r0, q0 = pts[i - 1]
            if r == r0:
                return max(q, q0), "interp"
            w = (target - r0) / (r - r0)
            return math.exp(math.log(q0) + w * (math.log(q) - math.log(q0))), "interp"
    return None, "not reached"


def knn_sql(kind, table, op, dim, q, rerank):
    """The nearest-neighbour query for an index kind; q is the SQL of the query vector
    ($1, a client placeholder, or a subquery), used once."""
    if kind == "halfvec":
        return (f"SELECT id FROM {table} ORDER BY embedding::halfvec({dim}) {op} "
                f"({q})::halfvec({dim}) LIMIT 10")
    if kind == "binary":
        # the binary index finds `rerank` candidates, the exact distance orders them
        return (f"SELECT c.id FROM (SELECT ({q})::vector AS qv) q, LATERAL ("
                f"SELECT id, embedding FROM {table} ORDER BY binary_quantize(embedding)::bit({dim}) <~> "
                f"binary_quantize(q.qv)::bit({dim}) LIMIT {rerank}) c ORDER BY c.embedding {op} q.qv LIMIT 10")
    return f"SELECT id FROM {table} ORDER BY embedding {op} ({q}) LIMIT 10"


def index_key_sql(kind, opclass, dim):
    """The key and operator class of CREATE INDEX for an index kind."""
    if kind == "halfvec":
        return f"(embedding::halfvec({dim})) {opclass.replace('vector_', 'halfvec_')}"
    if kind == "binary":
        return f"(binary_quantize(embedding)::bit({dim})) bit_hamming_ops"
    return f"embedding {opclass}"


def quantization_option(t, args):
    """vecann's index option for --quantization (pgvector has none: its index stays float32)."""
    if t.name != "vecann" or not args.quantization:
        return ""
    return f", quantization = '{args.quantization}'"


def run_pgbench(t, query_sql, qtable, nq, ef, clients, seconds, rerank_candidates=None):
    bindir = subprocess.run(["pg_config", "--bindir"], stdout=subprocess.PIPE,
                            text=True).stdout.strip()
    pgbench = os.path.join(bindir, "pgbench")
    if not os.path.exists(pgbench):
        return None, "pgbench not found (install postgresql-contrib)"
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
        f.write("\\set qid random(1, :nq)\n")
        f.write(query_sql(f"SELECT q FROM {qtable} WHERE qid = :qid") + ";\n")
        script = f.name
    os.chmod(script, 0o644)
    env = dict(os.environ)
    env["PGOPTIONS"] = f"-c jit=off -c {t.guc}.ef_search={ef}"
    if t.name == "vecann" and rerank_candidates:
        env["PGOPTIONS"] += f" -c vecann.rerank_candidates={rerank_candidates}"
    cmd = [pgbench, "-n", "-c", str(clients), "-j", str(clients), "-T", str(seconds),
           "-M", "prepared", "-D", f"nq={nq}", "-f", script, t.db]
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    finally:
        os.unlink(script)
    m = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", p.stdout)
    if p.returncode != 0 or not m:
        return None, "pgbench failed: " + p.stdout.strip()[-400:]
    lat = re.search(r"latency average = ([0-9.]+) ms", p.stdout)
    return {"tps": float(m.group(1)), "latency_ms": float(lat.group(1)) if lat else None,
            "clients": clients, "seconds": seconds}, None


def cmd_ann(args, targets):
    op, opclass = METRIC_SQL[args.metric]
    ds = datasets.load(args.dataset, rows=args.rows, dim=args.dim, nq=args.queries or 1000,
                       seed=args.seed)
    nq = len(ds.queries) if not args.queries else min(args.queries, len(ds.queries))
    qv = ds.queries[:nq]
    gt_ids, gt_dist = datasets.ground_truth(ds, args.metric)
    gt_ids, gt_dist = gt_ids[:nq], gt_dist[:nq]
    efs = [int(x) for x in args.ef_search.split(",") if x.strip()]
    pgb_efs = efs if args.pgbench_ef == "all" else \
        [int(x) for x in args.pgbench_ef.split(",") if x.strip()] if args.pgbench_ef else []
    table, qtable = "ann_" + _ident(ds.name), "ann_" + _ident(ds.name) + "_q"
    kind = args.index_kind
    knn = lambda q: knn_sql(kind, table, op, ds.dim, q, args.rerank)
    log(f"\n== ann: {ds.name} ({ds.n:,} x {ds.dim}), {nq} queries, metric {args.metric} ({op}, "
        f"{opclass}), index on {index_key_sql(kind, opclass, ds.dim)}"
        f"{f', re-ranking {args.rerank} candidates' if kind == 'binary' else ''}"
        f"{f', vecann quantization {args.quantization}' if args.quantization else ''}, "
        f"m={args.m}, ef_construction={args.ef_construction}, ef_search {efs}")
    results, live = [], []
    for t in targets:
        t.probe(ds.dim)
        res = {"target": t.name, "version": t.version, "dataset": ds.name, "rows": ds.n,
               "dim": ds.dim, "queries": nq, "metric": args.metric, "m": args.m,
               "ef_construction": args.ef_construction, "index_kind": kind,
               "quantization": (args.quantization or "f32") if t.name == "vecann" else "f32",
               "rerank_candidates": args.rerank_candidates if t.name == "vecann" else None}
        log(f"-- {t.name}: loading ({'binary' if t.binary_copy else 'text'} COPY) ...")
        res["load_s"] = t.load(table, ds.base, storage=args.storage)
        # query vectors for pgbench: qid 1..nq
        t.load(qtable, qv, first_id=1, primary_key=True)
        t.conn.execute(f"ALTER TABLE {qtable} RENAME COLUMN id TO qid")
        t.conn.execute(f"ALTER TABLE {qtable} RENAME COLUMN embedding TO q")
        heap, toast, total = t.table_sizes(table)
        res["table_bytes"] = total
        t.conn.execute("CHECKPOINT")
        idx = table + "_hnsw"
        lsn0 = t.conn.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
        t0 = time.perf_counter()
        try:
            t.conn.execute(f"CREATE INDEX {idx} ON {table} USING hnsw ({index_key_sql(kind, opclass, ds.dim)}) "
                           f"WITH (m = {args.m}, ef_construction = {args.ef_construction}"
                           f"{quantization_option(t, args)})")
        except psycopg.Error as e:
            res["error"] = f"CREATE INDEX failed: {str(e).strip()}"
            log(f"   {res['error']}")
            results.append(res)
            continue
        res["build_s"] = time.perf_counter() - t0
        res["wal_bytes"] = int(t.conn.execute("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s)",
                                              (lsn0,)).fetchone()[0])
        res["index_bytes"] = t.conn.execute("SELECT pg_relation_size(%s::regclass)",
                                            (idx,)).fetchone()[0]
        t.conn.execute(f"ANALYZE {table}")
        t.prewarm(idx)
        t.prewarm(table)
        log(f"   loaded {ds.n:,} rows in {res['load_s']:.1f} s (table {_fmt_bytes(total)}); "
            f"index built in {res['build_s']:.1f} s, size {_fmt_bytes(res['index_bytes'])}, "
            f"WAL {_fmt_bytes(res['wal_bytes'])}")
        q_param = knn(t.ph)
        q_sub = knn(f"SELECT q FROM {qtable} WHERE qid = 1")
        plans = {"param": t.explain(q_param, (Vec(qv[0]),)), "subquery": t.explain(q_sub)}
        res["explain"] = plans
        res["index_used"] = all(any(idx in ln for ln in p) for p in plans.values())
        log(f"   EXPLAIN uses {idx}: {'yes' if res['index_used'] else 'NO'} "
            f"({plan_summary(plans['param'])} / {plan_summary(plans['subquery'])})")
        if not res["index_used"]:
            log("   WARNING: the index is not used; the numbers below are not ANN numbers")
            for ln in plans["param"]:
                log("     " + ln)
        res["sweep"] = []
        st = Prepared(t, knn("$1"))
        live.append((t, res, st, [st.encode(v) for v in qv]))
        results.append(res)

    # the fixed cost of a statement: a trivial prepared one with the same vector
    # parameter and 10 result rows, timed like the sweep; the search time of a
    # query is its time minus this
    slot = args.min_time / max(args.rounds, 1)
    for t, res, st, params in live:
        trivial = Prepared(t, "SELECT g FROM generate_series(1, 10) g WHERE $1 IS NOT NULL")
        for p in params[:min(args.warmup, nq)]:
            trivial.run(p)
        rates = []
        for _ in range(max(args.rounds, 1)):
            done, t0 = 0, time.perf_counter()
            while True:
                for p in params:
                    trivial.run(p)
                done += len(params)
                el = time.perf_counter() - t0
                if el >= slot:
                    break
            rates.append(done / el)
        trivial.close()
        res["fixed_ms"] = 1000.0 / statistics.median(rates)
        log(f"-- {t.name}: fixed cost of a trivial prepared statement {res['fixed_ms'] * 1000:.0f} us")

    reference = None
    if args.reference == "hnswlib":
        log(f"-- hnswlib: building in memory (m={args.m}, ef_construction={args.ef_construction}, 2 threads) ...")
        ref_index, ref_build = hnswlib_ref.build(ds.base, args.metric, args.m, args.ef_construction)
        reference = {"target": "hnswlib", "build_s": ref_build, "sweep": []}
        log(f"   built in {ref_build:.1f} s")

    # the sweep: for each ef_search, timed rounds alternate between the targets so that
    # both see the same background load; in a round a target runs passes over all
    # queries until min_time/rounds seconds have passed; QPS is the median round
    slot = args.min_time / max(args.rounds, 1)
    if live:
        log(f"-- sweep: {args.rounds} rounds of >= {slot:.1f} s per target and ef_search, "
            f"alternating targets; then pgbench {args.pgbench_clients} clients x "
            f"{args.pgbench_time} s per target")
    for ef in efs:
        if reference is not None:
            ref_ids, ref_qps = hnswlib_ref.sweep_point(ref_index, qv, ef, 10, args.min_time, args.rounds)
            _, ref_rec = datasets.recall_at(10, ref_ids, gt_ids, gt_dist, ds.base, qv, args.metric)
            qps = statistics.median(ref_qps)
            reference["sweep"].append({"ef_search": ef, "recall": ref_rec, "qps": qps, "latency_ms": 1000.0 / qps,
                                       "qps_rounds": ref_qps})
            log(f"   {'hnswlib':8s} ef_search={ef:4d}: recall@10 {ref_rec:.4f}  QPS {qps:9,.1f}  "
                f"({1000.0 / qps:.3f} ms/query, in process, one thread)")
        round_qps, ids = {}, {}
        for t, res, st, params in live:
            t.set_guc("ef_search", ef)
            if t.name == "vecann" and args.rerank_candidates:
                t.set_guc("rerank_candidates", args.rerank_candidates)
            for p in params[:min(args.warmup, nq)]:
                st.run(p)
            round_qps[t.name] = []
        for r in range(max(args.rounds, 1)):
            for t, res, st, params in live:
                done, t0 = 0, time.perf_counter()
                while True:
                    got = [st.run(p) for p in params]
                    ids.setdefault(t.name, got)
                    done += len(params)
                    el = time.perf_counter() - t0
                    if el >= slot:
                        break
                round_qps[t.name].append(done / el)
        for t, res, st, params in live:
            qps = statistics.median(round_qps[t.name])
            id_rec, tie_rec, per_q = datasets.recall_at(10, ids[t.name], gt_ids, gt_dist, ds.base,
                                                        qv, args.metric, per_query=True)
            pt = {"ef_search": ef, "recall": tie_rec, "id_recall": id_rec,
                  "worst_query_recall": float(per_q.min()),
                  "queries_below_half": int(np.sum(per_q < 0.5)),
                  "qps": qps, "latency_ms": 1000.0 / qps, "qps_rounds": round_qps[t.name],
                  "search_ms": 1000.0 / qps - res["fixed_ms"],
                  "short_results": sum(1 for r in ids[t.name] if len(r) < 10)}
            if reference is not None:
                pt["search_vs_hnswlib"] = ratio(pt["search_ms"], reference["sweep"][-1]["latency_ms"])
            if ef in pgb_efs and args.pgbench_time > 0:
                pb, err = run_pgbench(t, knn, qtable, nq, ef, args.pgbench_clients,
                                      args.pgbench_time, args.rerank_candidates)
                pt["pgbench"] = pb
                if err:
                    pt["pgbench_error"] = err
                    log(f"   {err}")
            res["sweep"].append(pt)
            pb = pt.get("pgbench")
            log(f"   {t.name:8s} ef_search={ef:4d}: recall@10 {tie_rec:.4f}  QPS {qps:9,.1f}  "
                f"({pt['latency_ms']:.3f} ms/query; rounds "
                f"{', '.join(f'{x:,.0f}' for x in round_qps[t.name])})"
                + (f"  pgbench {pb['clients']} clients: {pb['tps']:,.1f} TPS" if pb else "")
                + (f"  [{pt['short_results']} queries returned < 10 rows]" if pt["short_results"] else "")
                + (f"  [{pt['queries_below_half']} queries with recall < 0.5]"
                   if pt["queries_below_half"] else ""))
    for t, res, st, params in live:
        st.close()
        t.conn.execute(f"RESET {t.guc}.ef_search")
        res["at_recall"] = {}
        for target_recall in (0.95, 0.99):
            q, note = qps_at_recall(res["sweep"], target_recall)
            res["at_recall"][str(target_recall)] = {"qps": q, "note": note}
        if not args.keep_tables:
            t.conn.execute(f"DROP TABLE IF EXISTS {table}")
            t.conn.execute(f"DROP TABLE IF EXISTS {qtable}")

    # summary
    log(f"\n== ann summary: {ds.name} ({ds.n:,} x {ds.dim}), {nq} queries, {args.metric}, "
        f"m={args.m}, ef_construction={args.ef_construction}")
    ok = [r for r in results if "sweep" in r]
    if ok:
        print_table(["target", "build s", "index size", "WAL", "index used"],
                    [[f"{r['target']} {r['version']}", _fmt(r["build_s"], 2),
                      _fmt_bytes(r["index_bytes"]), _fmt_bytes(r["wal_bytes"]),
                      "yes" if r["index_used"] else "NO"] for r in ok])
        log("")
        headers = ["ef_search"]
        for r in ok:
            headers += [f"{r['target']} recall", f"{r['target']} QPS"]
            if any(p.get("pgbench") for p in r["sweep"]):
                headers += [f"{r['target']} pgbench TPS ({args.pgbench_clients}c)"]
        if len(ok) == 2:
            headers += ["QPS ratio"]
        rows = []
        for i, ef in enumerate(efs):
            row = [ef]
            for r in ok:
                p = r["sweep"][i]
                row += [_fmt(p["recall"], 4), _fmt(p["qps"], 1)]
                if any(pp.get("pgbench") for pp in r["sweep"]):
                    row += [_fmt(p["pgbench"]["tps"], 1) if p.get("pgbench") else "-"]
            if len(ok) == 2:
                row += [_fmt(ratio(ok[0]["sweep"][i]["qps"], ok[1]["sweep"][i]["qps"]), 2)]
            rows.append(row)
        print_table(headers, rows)
        log("")
        print_table(["target"] + [f"QPS @ recall {x}" for x in ("0.95", "0.99")],
                    [[r["target"]] + [
                        (_fmt(r["at_recall"][x]["qps"], 1) +
                         (" (>=, lowest ef)" if r["at_recall"][x]["note"] == "lower bound" else ""))
                        if r["at_recall"][x]["qps"] else "not reached"
                        for x in ("0.95", "0.99")] for r in ok])
    if reference is not None and ok:
        log(f"\n== search time per query (statement time minus the trivial statement's), "
            f"against hnswlib's (in memory, one thread; built in {reference['build_s']:.1f} s)")
        headers = ["ef_search", "hnswlib recall", "hnswlib us"]
        for r in ok:
            headers += [f"{r['target']} us (fixed {r['fixed_ms'] * 1000:.0f})", f"{r['target']} / hnswlib"]
        rows = []
        for i, ef in enumerate(efs):
            ref = reference["sweep"][i]
            row = [ef, _fmt(ref["recall"], 4), _fmt(ref["latency_ms"] * 1000, 0)]
            for r in ok:
                p = r["sweep"][i]
                row += [_fmt(p["search_ms"] * 1000, 0), _fmt(p.get("search_vs_hnswlib"), 2)]
            rows.append(row)
        print_table(headers, rows)
    comparison = None
    by = {r["target"]: r for r in ok}
    if "vecann" in by and "pgvector" in by:
        a, b = by["vecann"], by["pgvector"]
        comparison = {
            "build_time_ratio": ratio(a["build_s"], b["build_s"]),
            "index_size_ratio": ratio(a["index_bytes"], b["index_bytes"]),
            "wal_ratio": ratio(a["wal_bytes"], b["wal_bytes"]),
            "qps_ratio_by_ef": {str(pa["ef_search"]): ratio(pa["qps"], pb["qps"])
                                for pa, pb in zip(a["sweep"], b["sweep"])},
            "pgbench_ratio_by_ef": {str(pa["ef_search"]): ratio(pa["pgbench"]["tps"], pb["pgbench"]["tps"])
                                    for pa, pb in zip(a["sweep"], b["sweep"])
                                    if pa.get("pgbench") and pb.get("pgbench")},
            "qps_ratio_at_recall": {x: ratio(a["at_recall"][x]["qps"], b["at_recall"][x]["qps"])
                                    for x in ("0.95", "0.99")},
        }
        log("\n== vecann / pgvector ratios (build time, size, WAL: <1 means vecann better; "
            "QPS: >1 means vecann faster)")
        print_table(["build time", "index size", "WAL", "QPS @0.95", "QPS @0.99"],
                    [[_fmt(comparison["build_time_ratio"], 2), _fmt(comparison["index_size_ratio"], 2),
                      _fmt(comparison["wal_ratio"], 2),
                      _fmt(comparison["qps_ratio_at_recall"]["0.95"], 2),
                      _fmt(comparison["qps_ratio_at_recall"]["0.99"], 2)]])
    return {"results": results, "reference": reference, "comparison": comparison}


# ============================================================================ main

def main():
    ap = argparse.ArgumentParser(description=__doc__ or "vecann benchmarks",
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--target", choices=("vecann", "pgvector", "both"), default="both",
                        help="what to measure (both: vecann and, if installed, pgvector)")
    common.add_argument("--server", choices=("scratch", "existing"), default="scratch",
                        help="scratch: a throw-away cluster via scripts/scratch-pg.sh; "
                             "existing: the server in PGHOST/PGPORT/PGUSER")
    common.add_argument("--shared-buffers", default="4GB",
                        help="shared_buffers of the scratch cluster")
    common.add_argument("--pg-conf", action="append", default=[], metavar="'name = value'",
                        help="extra postgresql.conf line for the scratch cluster (repeatable)")
    common.add_argument("--storage", default="default",
                        choices=("default", "plain", "main", "external", "extended"),
                        help="ALTER COLUMN embedding SET STORAGE before loading")
    common.add_argument("--metric", choices=tuple(METRIC_SQL), default="l2")
    common.add_argument("--dim", type=int, default=128, help="dimension of the random set")
    common.add_argument("--seed", type=int, default=42, help="seed of the random set")
    common.add_argument("--keep-tables", action="store_true", help="do not drop the tables")
    common.add_argument("--json", metavar="FILE", help="write machine-readable results here")
    sub = ap.add_subparsers(dest="cmd", required=True)

    ex = sub.add_parser("exact", parents=[common], help="exact (sequential scan) search QPS",
                        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ex.add_argument("--datasets", default="random,fashion-mnist",
                    help="comma list of: random, fashion-mnist, siftsmall, bigann10k")
    ex.add_argument("--rows", type=int, default=1000000,
                    help="rows of the random set (also caps the others)")
    ex.add_argument("--queries", type=int, default=20, help="timed queries per run")
    ex.add_argument("--warmup", type=int, default=3, help="warm-up queries before the runs")
    ex.add_argument("--runs", type=int, default=3, help="runs; the median QPS is reported")

    an = sub.add_parser("ann", parents=[common], help="HNSW build + recall/QPS sweep",
                        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    an.add_argument("--dataset", default="siftsmall", choices=datasets.DATASETS)
    an.add_argument("--rows", type=int, default=None,
                    help="limit the base rows (random: its size, default 100000)")
    an.add_argument("--queries", type=int, default=1000,
                    help="queries used (the first N of the query set; 0 = all)")
    an.add_argument("--index-kind", default="vector", choices=["vector", "halfvec", "binary"],
                    help="vector: (embedding vector_*_ops); halfvec: an expression index on "
                         "embedding::halfvec(dim); binary: on binary_quantize(embedding)::bit(dim) "
                         "with bit_hamming_ops, queries re-rank --rerank candidates by the exact distance")
    an.add_argument("--rerank", type=int, default=100,
                    help="candidates the binary index returns for exact re-ranking")
    an.add_argument("--quantization", default=None, choices=["f32", "f16", "bf16", "i8", "bit"],
                    help="vecann's index option quantization (pgvector's index stays float32); "
                         "default: the option is not given")
    an.add_argument("--rerank-candidates", type=int, default=None,
                    help="vecann.rerank_candidates for the sweep (quantization bit)")
    an.add_argument("--m", type=int, default=16)
    an.add_argument("--ef-construction", type=int, default=64)
    an.add_argument("--ef-search", default="10,20,40,80,120,200,400",
                    help="comma list of ef_search values")
    an.add_argument("--warmup", type=int, default=50, help="warm-up queries per ef_search")
    an.add_argument("--min-time", type=float, default=3.0,
                    help="seconds of timed queries per target and ef_search")
    an.add_argument("--rounds", type=int, default=3,
                    help="the timed seconds are split in this many rounds, alternating "
                         "between targets; QPS is the median round")
    an.add_argument("--pgbench-time", type=int, default=10,
                    help="seconds of pgbench per ef_search value (0: no pgbench)")
    an.add_argument("--pgbench-clients", type=int, default=2)
    an.add_argument("--reference", choices=["hnswlib", "none"], default="hnswlib",
                    help="an in-memory HNSW library measured on the same data and settings")
    an.add_argument("--pgbench-ef", default="all",
                    help="ef_search values to run pgbench at ('all' or a comma list)")

    writes.add_parser(sub, common)
    ivf.add_parser(sub, common)

    args = ap.parse_args()
    if args.cmd == "exact" and args.rows <= 0:
        ap.error("--rows must be positive")

    def _term(signum, frame):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, _term)

    started = datetime.datetime.now().astimezone()
    meta = {"date": started.isoformat(timespec="seconds"), "command": " ".join(
        shlex.quote(a) for a in [os.path.relpath(sys.argv[0], os.getcwd())] + sys.argv[1:]),
        "machine": machine_info(), "loadavg_start": loadavg(), "args": vars(args),
        "repo_commit": repo_commit(), "vecann_so": installed_library("vecann")}
    log(f"vecann bench {args.cmd} - {meta['date']}")
    m = meta["machine"]
    log(f"machine: {m['cpu']}, {m['cores']} cores, {m['memory']} RAM; load average {meta['loadavg_start']}")
    log(f"repository: {meta['repo_commit']}; installed vecann library: {meta['vecann_so']}")

    conf = [f"shared_buffers = {args.shared_buffers}"] + args.pg_conf
    server = Server(args.server, conf)
    out = None
    try:
        server.start()
        admin = connect("postgres")
        info = server_info(admin)
        meta["server"] = info
        meta["version"] = admin.execute("SELECT version()").fetchone()[0]
        log(f"server: {meta['version']}")
        log("settings: " + ", ".join(f"{k}={v}" for k, v in info.items() if k != "server_version")
            + "; benchmark sessions SET jit = off")
        targets, skipped = open_targets(args, admin)
        meta["targets"] = {t.name: {"database": t.db, "extension": t.ext, "version": t.version,
                                    "guc_prefix": t.guc} for t in targets}
        meta["skipped"] = skipped
        if not targets:
            log("nothing to measure")
            return 2
        if args.cmd == "exact":
            out = cmd_exact(args, targets)
        elif args.cmd == "ann":
            out = cmd_ann(args, targets)
        elif args.cmd == "ivf":
            out = ivf.cmd_ivf(args, targets, sys.modules[__name__])
        else:
            out = writes.cmd_writes(args, targets, sys.modules[__name__])
        for t in targets:
            t.close()
        admin.close()
    finally:
        meta["loadavg_end"] = loadavg()
        meta["elapsed_s"] = (datetime.datetime.now().astimezone() - started).total_seconds()
        server.stop()
        log(f"load average at the end: {meta['loadavg_end']}; elapsed {meta['elapsed_s']:.0f} s")
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"meta": meta, **(out or {"error": "incomplete run"})}, f, indent=2,
                          default=str)
            log(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
