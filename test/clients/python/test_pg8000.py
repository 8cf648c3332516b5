"""vecann through pg8000 (Debian 12's 1.10, pure Python, DB-API), the way a
user without pgvector's helper package writes it: numpy arrays go out as
vector literals of type unknown (as pg8000 sends every str), so the server
resolves them to vector by context, and a converter for the vector and
vector[] oids brings them back as numpy arrays. Checks round trips of vector,
halfvec, sparsevec and bit, NULLs, vector[] columns, 2,000 dimensions, bulk
inserts with executemany, an HNSW index made with DDL, exact
nearest-neighbour answers for each operator, EXPLAIN, pgvector's setting
names inside a transaction, and that errors come with PostgreSQL's SQLSTATE
and pgvector's wording.
"""
import os
import re

import numpy as np
import pg8000
import pg8000.core
import pytest

from conftest import DIMS, assert_exact_knn, assert_uses_index, make_vectors, vector_text


def parse_vector(text):
    return np.array(text[1:-1].split(","), dtype=np.float32)


def parse_vector_array(text):
    """'{"[1,2]",NULL}' -> [array([1, 2]), None] (a vector literal holds no quote)."""
    return [None if null else parse_vector(literal) for literal, null in re.findall(r'"([^"]*)"|(NULL)', text)]


def register_vector(conn):
    """Converters for vector and vector[] on conn, whose oids differ per database."""
    cur = conn.cursor()
    cur.execute("SELECT 'vector'::regtype::oid, 'vector[]'::regtype::oid")
    oid, array_oid = cur.fetchone()
    conn.rollback()

    def text_of(data, offset, length):
        return bytes(data[offset:offset + length]).decode()

    conn.pg_types[oid] = (pg8000.core.FC_TEXT, lambda d, o, n: parse_vector(text_of(d, o, n)))
    conn.pg_types[array_oid] = (pg8000.core.FC_TEXT, lambda d, o, n: parse_vector_array(text_of(d, o, n)))
    conn.py_types[np.ndarray] = (705, pg8000.core.FC_TEXT, lambda v: vector_text(v).encode())


@pytest.fixture(scope="module")
def conn(database):
    where = {"host": database["host"], "port": database["port"]}
    if database["host"].startswith("/"):  # a socket directory: pg8000 wants the socket's path
        where = {"unix_sock": os.path.join(database["host"], f".s.PGSQL.{database['port']}")}
    c = pg8000.connect(user=database["user"], database=database["dbname"], **where)
    register_vector(c)
    c.autocommit = True
    yield c
    c.close()


@pytest.fixture(scope="module")
def items(conn):
    data = make_vectors(seed=41)
    cur = conn.cursor()
    cur.execute(f"CREATE TABLE items (id int PRIMARY KEY, embedding vector({DIMS}))")
    cur.executemany("INSERT INTO items VALUES (%s, %s)", [(i, v) for i, v in enumerate(data, start=1)])
    cur.execute("CREATE INDEX items_embedding_idx ON items USING hnsw (embedding vector_l2_ops)")
    cur.execute("CREATE INDEX items_embedding_cos_idx ON items USING hnsw (embedding vector_cosine_ops)")
    cur.execute("CREATE INDEX items_embedding_ip_idx ON items USING hnsw (embedding vector_ip_ops)")
    cur.execute("ANALYZE items")
    return data


def test_round_trip_null_array_large(conn):
    cur = conn.cursor()
    cur.execute("CREATE TEMP TABLE rt (id int, v vector, vs vector[])")
    small = np.float32([1.5, -2.25, 3e-7])
    big = np.random.default_rng(8).standard_normal(2000).astype(np.float32)
    cur.execute("INSERT INTO rt VALUES (1, %s, ARRAY[%s, NULL, '[4,5]']::vector[]), (2, NULL, NULL), (3, %s, '{}')",
                (small, small, big))
    cur.execute("SELECT v, vs, vector_dims(v) FROM rt ORDER BY id")
    rows = cur.fetchall()
    np.testing.assert_array_equal(rows[0][0], small)
    assert len(rows[0][1]) == 3 and rows[0][1][1] is None
    np.testing.assert_array_equal(rows[0][1][0], small)
    np.testing.assert_array_equal(rows[0][1][2], [4, 5])
    assert rows[1][0] is None and rows[1][1] is None
    np.testing.assert_array_equal(rows[2][0], big)
    assert rows[2][2] == 2000 and rows[2][1] == []


def test_other_types_as_text(conn):
    cur = conn.cursor()
    cur.execute("SELECT %s::halfvec, %s::sparsevec, %s::bit(4), %s::halfvec <-> %s::halfvec",
                ("[1,2.5,-3]", "{1:0.5,3:2}/4", "1010", "[0,0]", "[3,4]"))
    assert cur.fetchone() == ["[1,2.5,-3]", "{1:0.5,3:2}/4", "1010", 5.0]


def test_stored_values_exact(conn, items):
    # pg8000 1.10 fetches more rows than its cache holds only inside a transaction.
    conn.autocommit = False
    try:
        cur = conn.cursor()
        cur.execute("SELECT embedding FROM items ORDER BY id")
        np.testing.assert_array_equal(np.stack([r[0] for r in cur.fetchall()]), items)
        conn.commit()
    finally:
        conn.autocommit = True


@pytest.mark.parametrize("metric,op,index", [("l2", "<->", "items_embedding_idx"),
                                              ("cosine", "<=>", "items_embedding_cos_idx"),
                                              ("ip", "<#>", "items_embedding_ip_idx")])
def test_nearest_neighbours(conn, items, metric, op, index):
    sql = f"SELECT id FROM items ORDER BY embedding {op} %s LIMIT 10"
    queries = make_vectors(rows=4, seed=42)
    cur = conn.cursor()
    cur.execute("EXPLAIN " + sql, (queries[0],))
    assert_uses_index(cur.fetchall(), index)
    conn.autocommit = False
    try:
        # As pgvector applications do: pgvector's setting name, for one transaction.
        cur.execute("SET LOCAL hnsw.ef_search = 400")
        cur.execute("SET LOCAL enable_seqscan = off")
        for q in queries:
            cur.execute(sql, (q,))
            assert_exact_knn([r[0] for r in cur.fetchall()], items, q, 10, metric)
        conn.commit()
    finally:
        conn.autocommit = True
    cur.execute("SHOW vecann.ef_search")
    assert cur.fetchone()[0] == "40"


def test_errors_in_pgvectors_words(conn):
    cur = conn.cursor()
    with pytest.raises(pg8000.ProgrammingError) as e:
        cur.execute("SELECT %s::vector", ("bad",))
    assert e.value.args[2] == "22P02"
    assert e.value.args[3] == 'invalid input syntax for type vector: "bad"'
    with pytest.raises(pg8000.ProgrammingError) as e:
        cur.execute("SELECT %s::vector(3)", (np.float32([1, 2]),))
    assert e.value.args[2:4] == ("22000", "expected 3 dimensions, not 2")
