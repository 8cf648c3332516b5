"""Shared fixtures for the Python client tests of vecann (run by test/clients/run.sh).

The server comes from the libpq environment (PGHOST, PGPORT, PGUSER) that
scripts/scratch-pg.sh exports. Each test module gets a fresh database with the
extension created, so modules never see each other's tables. Helpers here make
reproducible data and compute exact nearest neighbours with numpy, so a test can
check that an index scan returned the true nearest rows.
"""
import os

import numpy as np
import psycopg
import pytest

DIMS = 16
ROWS = 3000
# Nearest-neighbour answers are checked against exact ones with these settings:
# a candidate list this long makes the HNSW scan exact on ROWS rows of DIMS
# dimensions, and with it the planner would rightly prefer a sequential scan on
# so small a table, so sequential scans are disabled to make the index answer.
# Plans are checked under the default settings: there the planner picks the
# index by itself.
INDEX_SETTINGS = {"vecann.ef_search": "400", "ivfflat.probes": "10", "enable_seqscan": "off"}


def server_params():
    """host/port/user of the scratch server, from the libpq environment."""
    missing = [name for name in ("PGHOST", "PGPORT") if not os.environ.get(name)]
    if missing:
        pytest.exit(f"set {', '.join(missing)} (test/clients/run.sh starts a scratch server)", returncode=2)
    return {
        "host": os.environ["PGHOST"],
        "port": int(os.environ["PGPORT"]),
        "user": os.environ.get("PGUSER", "postgres"),
    }


def recreate_database(name, extension=True):
    """Drops and creates database `name`, with CREATE EXTENSION vecann in it."""
    params = server_params()
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    if extension:
        with psycopg.connect(dbname=name, autocommit=True, **params) as conn:
            conn.execute("CREATE EXTENSION vecann")
    return dict(params, dbname=name)


@pytest.fixture(scope="module")
def database(request):
    """A fresh database with vecann for this test module: connection keywords."""
    name = "vecann_py_" + request.module.__name__.rsplit(".", 1)[-1]
    return recreate_database(name)


def make_vectors(rows=ROWS, dims=DIMS, seed=7):
    """Reproducible float32 vectors, one per row."""
    return np.random.default_rng(seed).standard_normal((rows, dims)).astype(np.float32)


def distances(data, query, metric):
    """Distances as the operators define them, in float64: l2 <->, ip <#>, cosine <=>."""
    data = data.astype(np.float64)
    query = np.asarray(query, dtype=np.float64)
    if metric == "l2":
        return np.sqrt(((data - query) ** 2).sum(axis=1))
    if metric == "ip":
        return -(data @ query)
    if metric == "cosine":
        return 1.0 - (data @ query) / (np.linalg.norm(data, axis=1) * np.linalg.norm(query))
    raise ValueError(metric)


def assert_exact_knn(ids, data, query, k, metric, id_base=1):
    """ids (row i has id i + id_base) must be k nearest rows to query, closest first.

    Compares distances rather than ids, so that two rows at the same distance
    may come in either order."""
    assert len(ids) == k, f"expected {k} rows, got {len(ids)}"
    dist = distances(data, query, metric)
    got = dist[np.asarray(ids) - id_base]
    want = np.sort(dist)[:k]
    assert np.all(np.diff(got) >= -1e-6), f"rows not in distance order: {got}"
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def assert_uses_index(plan_lines, index_name):
    """EXPLAIN output (a string or rows) shows an index scan on index_name."""
    if not isinstance(plan_lines, str):
        plan_lines = "\n".join(row[0] if isinstance(row, (tuple, list)) else str(row) for row in plan_lines)
    assert f"Index Scan using {index_name}" in plan_lines, plan_lines


def vector_text(values):
    """The text form of a vector: exact for float32 values."""
    return "[" + ",".join(repr(float(x)) for x in values) + "]"
