"""vecann through psycopg 3, the way a user without pgvector's helper package
writes it: a Dumper and a Loader for the `vector` type in text and binary
(pgvector's wire format: int16 dims, int16 0, float4 x dims, big-endian),
registered for numpy arrays, with TypeInfo so vector[] arrays work too.
Checks round trips (text, binary, COPY BINARY, prepared statements), NULLs,
vector[] columns, 2,000 dimensions, an HNSW index made with DDL, exact
nearest-neighbour answers and EXPLAIN using the index.
"""
import contextlib
import struct

import numpy as np
import psycopg
import pytest
from psycopg.adapt import Dumper, Loader
from psycopg.pq import Format
from psycopg.types import TypeInfo

from conftest import DIMS, INDEX_SETTINGS, assert_exact_knn, assert_uses_index, make_vectors, vector_text


class VectorTextDumper(Dumper):
    format = Format.TEXT

    def dump(self, obj):
        return vector_text(np.asarray(obj, dtype=np.float32)).encode()


class VectorBinaryDumper(Dumper):
    format = Format.BINARY

    def dump(self, obj):
        arr = np.asarray(obj, dtype=np.float32)
        return struct.pack(">HH", arr.shape[0], 0) + arr.astype(">f4").tobytes()


class VectorTextLoader(Loader):
    format = Format.TEXT

    def load(self, data):
        text = bytes(data).decode()
        return np.array(text[1:-1].split(","), dtype=np.float32)


class VectorBinaryLoader(Loader):
    format = Format.BINARY

    def load(self, data):
        data = bytes(data)
        dims, unused = struct.unpack_from(">HH", data)
        assert unused == 0
        return np.frombuffer(data, dtype=">f4", count=dims, offset=4).astype(np.float32)


def register_vector(conn):
    """Adapts numpy arrays to `vector` (and lists of them to vector[]) on conn."""
    info = TypeInfo.fetch(conn, "vector")
    if info is None:
        raise RuntimeError("type vector not found: CREATE EXTENSION vecann")
    info.register(conn)  # vector[] <-> lists, with the element adapters below
    adapters = conn.adapters
    adapters.register_dumper(np.ndarray, type("VectorTextDumper", (VectorTextDumper,), {"oid": info.oid}))
    adapters.register_dumper(np.ndarray, type("VectorBinaryDumper", (VectorBinaryDumper,), {"oid": info.oid}))
    adapters.register_loader(info.oid, VectorTextLoader)
    adapters.register_loader(info.oid, VectorBinaryLoader)


@pytest.fixture(scope="module")
def conn(database):
    with psycopg.connect(autocommit=True, **database) as c:
        register_vector(c)
        yield c


@contextlib.contextmanager
def index_settings(conn):
    """INDEX_SETTINGS on conn within the block."""
    for name, value in INDEX_SETTINGS.items():
        conn.execute(f"SET {name} = {value}")
    try:
        yield
    finally:
        for name in INDEX_SETTINGS:
            conn.execute(f"RESET {name}")


@pytest.fixture(scope="module")
def items(conn):
    """A table of 3,000 vectors loaded with COPY BINARY, its HNSW index, ANALYZEd."""
    data = make_vectors()
    conn.execute(f"CREATE TABLE items (id int PRIMARY KEY, embedding vector({DIMS}))")
    with conn.cursor() as cur:
        with cur.copy("COPY items (id, embedding) FROM STDIN WITH (FORMAT BINARY)") as copy:
            copy.set_types(["int4", "vector"])
            for i, v in enumerate(data, start=1):
                copy.write_row((i, v))
    conn.execute("CREATE INDEX items_embedding_idx ON items USING hnsw (embedding vector_l2_ops) "
                 "WITH (m = 16, ef_construction = 64)")
    conn.execute("CREATE INDEX items_embedding_cos_idx ON items USING hnsw (embedding vector_cosine_ops)")
    conn.execute("CREATE INDEX items_embedding_ip_idx ON items USING hnsw (embedding vector_ip_ops)")
    conn.execute("ANALYZE items")
    return data


@pytest.mark.parametrize("placeholder", ["%t", "%b"])
@pytest.mark.parametrize("binary_results", [False, True])
def test_round_trip(conn, placeholder, binary_results):
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS rt (id int, v vector)")
    conn.execute("TRUNCATE rt")
    vectors = [np.array([1.5, -2.25, 3e-7], dtype=np.float32), np.float32([0.1, 0.2]), None]
    with conn.cursor() as cur:
        cur.executemany(f"INSERT INTO rt VALUES (%s, {placeholder})", list(enumerate(vectors)))
    with conn.cursor(binary=binary_results) as cur:
        rows = cur.execute("SELECT v FROM rt ORDER BY id").fetchall()
    assert rows[2][0] is None
    for (got,), want in zip(rows[:2], vectors[:2]):
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got, want)


def test_copy_binary_loaded_exact_values(conn, items):
    with conn.cursor(binary=True) as cur:
        rows = cur.execute("SELECT id, embedding FROM items ORDER BY id").fetchall()
    assert len(rows) == len(items)
    np.testing.assert_array_equal(np.stack([r[1] for r in rows]), items)
    # The server's text form reads back to the same floats.
    (text,) = conn.execute("SELECT embedding::text FROM items WHERE id = 17").fetchone()
    np.testing.assert_array_equal(VectorTextLoader(0).load(text.encode()), items[16])


def test_copy_text_out(conn, items):
    with conn.cursor() as cur:
        with cur.copy("COPY (SELECT embedding FROM items WHERE id <= 5 ORDER BY id) TO STDOUT") as copy:
            copy.set_types(["vector"])
            got = [row[0] for row in copy.rows()]
    np.testing.assert_array_equal(np.stack(got), items[:5])


@pytest.mark.parametrize("binary", [False, True])
def test_vector_array_column(conn, binary):
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS va (id int, vs vector[])")
    conn.execute("TRUNCATE va")
    value = [np.float32([1, 2, 3]), None, np.float32([4.5, -6])]
    placeholder = "%b" if binary else "%t"
    conn.execute(f"INSERT INTO va VALUES (1, {placeholder}), (2, NULL), (3, {placeholder})", (value, []))
    with conn.cursor(binary=binary) as cur:
        rows = cur.execute("SELECT vs FROM va ORDER BY id").fetchall()
    got = rows[0][0]
    assert len(got) == 3 and got[1] is None
    np.testing.assert_array_equal(got[0], value[0])
    np.testing.assert_array_equal(got[2], value[2])
    assert rows[1][0] is None
    assert rows[2][0] == []
    (typ,) = conn.execute("SELECT pg_typeof(vs)::text FROM va LIMIT 1").fetchone()
    assert typ == "vector[]"


@pytest.mark.parametrize("binary", [False, True])
def test_large_vectors(conn, binary):
    big = np.random.default_rng(3).standard_normal(2000).astype(np.float32)
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS big (v vector(2000))")
    conn.execute("TRUNCATE big")
    conn.execute("INSERT INTO big VALUES (%b)" if binary else "INSERT INTO big VALUES (%t)", (big,))
    with conn.cursor(binary=binary) as cur:
        (got, dims) = cur.execute("SELECT v, vector_dims(v) FROM big").fetchone()
    assert dims == 2000
    np.testing.assert_array_equal(got, big)


def test_typmod_error_reaches_the_client(conn):
    with pytest.raises(psycopg.errors.DataException, match="expected 3 dimensions, not 2"):
        conn.execute("SELECT %t::vector(3)", (np.float32([1, 2]),))


def test_invalid_literal_in_pgvectors_words(conn):
    # Applications match on PostgreSQL's (and pgvector's) wording and SQLSTATE;
    # vecann's position is in the detail.
    with pytest.raises(psycopg.errors.InvalidTextRepresentation) as e:
        conn.execute("SELECT %s::vector", ("[1,,2]",))
    assert e.value.diag.message_primary == 'invalid input syntax for type vector: "[1,,2]"'
    assert e.value.diag.message_detail == 'Unexpected input at position 4: "[1,>>,2]".'
    for literal, message in [("[NaN]", "NaN not allowed in vector"),
                             ("[1,inf]", "infinite value not allowed in vector"),
                             ("[1e39]", '"1e39" is out of range for type vector')]:
        with pytest.raises(psycopg.DataError, match=message):
            conn.execute("SELECT %s::vector", (literal,))


def test_pgvector_setting_names(conn):
    # SET LOCAL hnsw.ef_search, as pgvector applications do, is vecann.ef_search
    # for the transaction, and only for it.
    with conn.transaction():
        conn.execute("SET LOCAL hnsw.ef_search = 123")
        assert conn.execute("SHOW vecann.ef_search").fetchone()[0] == "123"
    assert conn.execute("SHOW vecann.ef_search").fetchone()[0] == "40"
    with pytest.raises(psycopg.errors.InvalidParameterValue):
        conn.execute("SET hnsw.ef_search = 1001")


@pytest.mark.parametrize("metric,op,index", [
    ("l2", "<->", "items_embedding_idx"),
    ("cosine", "<=>", "items_embedding_cos_idx"),
    ("ip", "<#>", "items_embedding_ip_idx"),
])
@pytest.mark.parametrize("placeholder,prepare", [("%t", False), ("%b", False), ("%b", True)])
def test_nearest_neighbours(conn, items, metric, op, index, placeholder, prepare):
    sql = f"SELECT id FROM items ORDER BY embedding {op} {placeholder} LIMIT %s"
    queries = make_vectors(rows=4, seed=11)
    assert_uses_index(conn.execute("EXPLAIN " + sql, (queries[0], 10)).fetchall(), index)
    with index_settings(conn):
        assert_uses_index(conn.execute("EXPLAIN " + sql, (queries[0], 10)).fetchall(), index)
        for q in queries:
            ids = [r[0] for r in conn.execute(sql, (q, 10), prepare=prepare).fetchall()]
            assert_exact_knn(ids, items, q, 10, metric)


def test_nearest_neighbours_with_filter(conn, items):
    q = make_vectors(rows=1, seed=12)[0]
    sql = "SELECT id FROM items WHERE id %% 3 = 0 ORDER BY embedding <-> %b LIMIT 10"
    with index_settings(conn):
        assert_uses_index(conn.execute("EXPLAIN " + sql, (q,)).fetchall(), "items_embedding_idx")
        ids = [r[0] for r in conn.execute(sql, (q,)).fetchall()]
    assert all(i % 3 == 0 for i in ids)
    kept = np.arange(1, len(items) + 1) % 3 == 0
    assert_exact_knn([i // 3 for i in ids], items[kept], q, 10, "l2")
