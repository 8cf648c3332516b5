"""vecann through psycopg2, the way a user without pgvector's helper package
writes it: register_adapter() so numpy arrays are sent as vector literals,
new_type()/new_array_type() so `vector` and `vector[]` come back as numpy
arrays. psycopg2 speaks the text format only. Checks round trips, NULLs,
vector[] columns, 2,000 dimensions, COPY, bulk inserts with execute_values,
an HNSW index made with DDL, exact nearest-neighbour answers and EXPLAIN.
"""
import io

import numpy as np
import psycopg2
import psycopg2.extensions
import psycopg2.extras
import pytest

from conftest import DIMS, INDEX_SETTINGS, assert_exact_knn, assert_uses_index, make_vectors, vector_text


class VectorLiteral:
    """psycopg2 adapter: a numpy array as a `vector` literal."""

    def __init__(self, value):
        self.value = value

    def getquoted(self):
        return f"'{vector_text(self.value)}'::vector".encode()


psycopg2.extensions.register_adapter(np.ndarray, VectorLiteral)


def parse_vector(value, cursor):
    if value is None:
        return None
    return np.array(value[1:-1].split(","), dtype=np.float32)


def register_vector(conn):
    """Typecasters for vector and vector[] on conn (their oids differ per database)."""
    with conn.cursor() as cur:
        cur.execute("SELECT 'vector'::regtype::oid, 'vector[]'::regtype::oid")
        oid, array_oid = cur.fetchone()
    vector = psycopg2.extensions.new_type((oid,), "VECTOR", parse_vector)
    psycopg2.extensions.register_type(vector, conn)
    psycopg2.extensions.register_type(psycopg2.extensions.new_array_type((array_oid,), "VECTOR[]", vector), conn)


@pytest.fixture(scope="module")
def conn(database):
    c = psycopg2.connect(**database)
    c.autocommit = True
    register_vector(c)
    yield c
    c.close()


@pytest.fixture(scope="module")
def items(conn):
    data = make_vectors(seed=21)
    with conn.cursor() as cur:
        cur.execute(f"CREATE TABLE items (id int PRIMARY KEY, embedding vector({DIMS}))")
        psycopg2.extras.execute_values(cur, "INSERT INTO items (id, embedding) VALUES %s",
                                       [(i, v) for i, v in enumerate(data, start=1)], page_size=500)
        cur.execute("CREATE INDEX items_embedding_idx ON items USING hnsw (embedding vector_l2_ops) "
                    "WITH (m = 16, ef_construction = 64)")
        cur.execute("CREATE INDEX items_embedding_cos_idx ON items USING hnsw (embedding vector_cosine_ops)")
        cur.execute("ANALYZE items")
    return data


def test_round_trip_and_null(conn):
    with conn.cursor() as cur:
        cur.execute("CREATE TEMP TABLE rt (id int, v vector)")
        vectors = [np.float32([1.5, -2.25, 3e-7]), np.float32([0.1, 0.2]), None]
        cur.executemany("INSERT INTO rt VALUES (%s, %s)", list(enumerate(vectors)))
        cur.execute("SELECT v FROM rt ORDER BY id")
        rows = cur.fetchall()
    assert rows[2][0] is None
    for (got,), want in zip(rows, vectors):
        np.testing.assert_array_equal(got, want)


def test_text_literals_from_strings(conn):
    """Applications that build '[1,2,3]' strings themselves work unchanged."""
    with conn.cursor() as cur:
        cur.execute("SELECT %s::vector, vector_dims(%s)", ("[1, 2.5 ,3]", "[4,5]"))
        got, dims = cur.fetchone()
    np.testing.assert_array_equal(got, [1, 2.5, 3])
    assert dims == 2


def test_vector_array_column(conn):
    with conn.cursor() as cur:
        cur.execute("CREATE TEMP TABLE va (id int, vs vector[])")
        cur.execute("INSERT INTO va VALUES (1, %s), (2, NULL)", ([np.float32([1, 2, 3]), None, np.float32([4.5, -6])],))
        cur.execute("SELECT vs FROM va ORDER BY id")
        (first,), (second,) = cur.fetchall()
    assert second is None
    assert len(first) == 3 and first[1] is None
    np.testing.assert_array_equal(first[0], [1, 2, 3])
    np.testing.assert_array_equal(first[2], [4.5, -6])


def test_large_vectors(conn):
    big = np.random.default_rng(5).standard_normal(2000).astype(np.float32)
    with conn.cursor() as cur:
        cur.execute("CREATE TEMP TABLE big (v vector(2000))")
        cur.execute("INSERT INTO big VALUES (%s)", (big,))
        cur.execute("SELECT v, vector_dims(v) FROM big")
        got, dims = cur.fetchone()
    assert dims == 2000
    np.testing.assert_array_equal(got, big)


def test_copy_text(conn):
    with conn.cursor() as cur:
        cur.execute("CREATE TEMP TABLE copied (id int, v vector(3))")
        cur.copy_expert("COPY copied FROM STDIN", io.StringIO("1\t[1,2,3]\n2\t\\N\n3\t[0.5,-1,1e-3]\n"))
        out = io.StringIO()
        cur.copy_expert("COPY (SELECT * FROM copied ORDER BY id) TO STDOUT", out)
    assert out.getvalue() == "1\t[1,2,3]\n2\t\\N\n3\t[0.5,-1,0.001]\n"


def test_dimension_error(conn):
    with conn.cursor() as cur:
        with pytest.raises(psycopg2.errors.DataException, match="expected 3 dimensions, not 2"):
            cur.execute("SELECT %s::vector(3)", (np.float32([1, 2]),))


@pytest.mark.parametrize("metric,op,index", [("l2", "<->", "items_embedding_idx"),
                                              ("cosine", "<=>", "items_embedding_cos_idx")])
def test_nearest_neighbours(conn, items, metric, op, index):
    sql = f"SELECT id FROM items ORDER BY embedding {op} %s LIMIT %s"
    queries = make_vectors(rows=4, seed=22)
    with conn.cursor() as cur:
        cur.execute("EXPLAIN " + sql, (queries[0], 10))
        assert_uses_index(cur.fetchall(), index)
        for name, value in INDEX_SETTINGS.items():
            cur.execute(f"SET {name} = {value}")
        try:
            cur.execute("EXPLAIN " + sql, (queries[0], 10))
            assert_uses_index(cur.fetchall(), index)
            for q in queries:
                cur.execute(sql, (q, 10))
                assert_exact_knn([r[0] for r in cur.fetchall()], items, q, 10, metric)
        finally:
            cur.execute("RESET ALL")
