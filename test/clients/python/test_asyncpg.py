"""vecann through asyncpg, the way a user without pgvector's helper package
writes it: Connection.set_type_codec('vector', ...) with a text codec
('[1,2,3]') or a binary one (pgvector's wire format: int16 dims, int16 0,
float4 x dims, big-endian), numpy arrays on the Python side. Checks round
trips in both formats, NULLs, vector[] columns, 2,000 dimensions, binary COPY
(copy_records_to_table), prepared statements, an HNSW index made with DDL,
exact nearest-neighbour answers and EXPLAIN using the index.

One asyncpg limitation shows: its array encoder takes any sequence inside a
list for a sub-array, so the elements of a vector[] value must not be numpy
arrays or lists; they go in a small non-sequence wrapper (Vector below), as
pgvector's own Python package does.
"""
import asyncio
import struct

import asyncpg
import numpy as np
import pytest

from conftest import DIMS, INDEX_SETTINGS, assert_exact_knn, assert_uses_index, make_vectors, vector_text


class Vector:
    """A vector that asyncpg will not mistake for a sub-array of a vector[]."""

    def __init__(self, values):
        self.values = np.asarray(values, dtype=np.float32)


def as_array(value):
    return value.values if isinstance(value, Vector) else np.asarray(value, dtype=np.float32)


def encode_text(value):
    return vector_text(as_array(value))


def decode_text(text):
    return np.array(text[1:-1].split(","), dtype=np.float32)


def encode_binary(value):
    arr = as_array(value)
    return struct.pack(">HH", arr.shape[0], 0) + arr.astype(">f4").tobytes()


def decode_binary(data):
    dims, unused = struct.unpack_from(">HH", data)
    assert unused == 0
    return np.frombuffer(data, dtype=">f4", count=dims, offset=4).astype(np.float32)


async def connect(database, fmt):
    conn = await asyncpg.connect(host=database["host"], port=database["port"], user=database["user"],
                                 database=database["dbname"])
    if fmt == "text":
        await conn.set_type_codec("vector", encoder=encode_text, decoder=decode_text, format="text")
    else:
        await conn.set_type_codec("vector", encoder=encode_binary, decoder=decode_binary, format="binary")
    return conn


def run(coro):
    return asyncio.run(coro)


@pytest.fixture(scope="module")
def items(database):
    data = make_vectors(seed=31)

    async def load():
        conn = await connect(database, "binary")
        try:
            await conn.execute(f"CREATE TABLE items (id int PRIMARY KEY, embedding vector({DIMS}))")
            # Binary COPY: every value goes through the binary encoder.
            await conn.copy_records_to_table("items", records=[(i, v) for i, v in enumerate(data, start=1)],
                                             columns=["id", "embedding"])
            await conn.execute("CREATE INDEX items_embedding_idx ON items USING hnsw (embedding vector_l2_ops) "
                               "WITH (m = 16, ef_construction = 64)")
            await conn.execute("CREATE INDEX items_embedding_ip_idx ON items USING hnsw (embedding vector_ip_ops)")
            await conn.execute("ANALYZE items")
        finally:
            await conn.close()

    run(load())
    return data


@pytest.mark.parametrize("fmt", ["text", "binary"])
def test_round_trip_null_array_large(database, fmt):
    async def body():
        conn = await connect(database, fmt)
        try:
            await conn.execute("CREATE TEMP TABLE rt (id int, v vector, vs vector[])")
            small = np.float32([1.5, -2.25, 3e-7])
            big = np.random.default_rng(6).standard_normal(2000).astype(np.float32)
            await conn.executemany("INSERT INTO rt VALUES ($1, $2, $3)", [
                (1, small, [Vector(small), None, Vector([4, 5])]),
                (2, None, None),
                (3, big, []),
            ])
            rows = await conn.fetch("SELECT v, vs, vector_dims(v) AS dims FROM rt ORDER BY id")
        finally:
            await conn.close()
        np.testing.assert_array_equal(rows[0]["v"], small)
        vs = rows[0]["vs"]
        assert len(vs) == 3 and vs[1] is None
        np.testing.assert_array_equal(vs[0], small)
        np.testing.assert_array_equal(vs[2], [4, 5])
        assert rows[1]["v"] is None and rows[1]["vs"] is None
        np.testing.assert_array_equal(rows[2]["v"], big)
        assert rows[2]["dims"] == 2000 and rows[2]["vs"] == []

    run(body())


def test_binary_copy_stored_exact_values(database, items):
    async def body():
        conn = await connect(database, "text")
        try:
            return await conn.fetch("SELECT embedding FROM items ORDER BY id")
        finally:
            await conn.close()

    rows = run(body())
    np.testing.assert_array_equal(np.stack([r["embedding"] for r in rows]), items)


def test_dimension_error(database):
    async def body():
        conn = await connect(database, "binary")
        try:
            with pytest.raises(asyncpg.DataError, match="expected 3 dimensions, not 2"):
                await conn.fetchval("SELECT $1::vector(3)", np.float32([1, 2]))
        finally:
            await conn.close()

    run(body())


@pytest.mark.parametrize("fmt", ["text", "binary"])
@pytest.mark.parametrize("metric,op,index", [("l2", "<->", "items_embedding_idx"),
                                              ("ip", "<#>", "items_embedding_ip_idx")])
def test_nearest_neighbours(database, items, fmt, metric, op, index):
    sql = f"SELECT id FROM items ORDER BY embedding {op} $1 LIMIT $2"
    queries = make_vectors(rows=4, seed=32)

    async def body():
        conn = await connect(database, fmt)
        try:
            assert_uses_index(await conn.fetch("EXPLAIN " + sql, queries[0], 10), index)
            for name, value in INDEX_SETTINGS.items():
                await conn.execute(f"SET {name} = {value}")
            assert_uses_index(await conn.fetch("EXPLAIN " + sql, queries[0], 10), index)
            stmt = await conn.prepare(sql)  # a named prepared statement, reused
            return [[r["id"] for r in await stmt.fetch(q, 10)] for q in queries]
        finally:
            await conn.close()

    for q, ids in zip(queries, run(body())):
        assert_exact_knn(ids, items, q, 10, metric)
