"""vecann through SQLAlchemy (1.4, ORM, psycopg2 driver), the way a user
without pgvector's helper package writes it: a UserDefinedType `Vector` with
bind/result processors and distance methods, a declarative model whose HNSW
and ivfflat indexes are declared with Index(..., postgresql_using='hnsw' or 'ivfflat',
postgresql_with=..., postgresql_ops=...) and created by metadata.create_all(),
and nearest-neighbour queries written as
select(Item).order_by(Item.embedding.op('<->')(q)).limit(k).
The EXPLAIN check runs the exact SQL and parameters SQLAlchemy sent.
"""
import numpy as np
import psycopg2.extensions
import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session, declarative_base
from sqlalchemy.types import UserDefinedType

from conftest import DIMS, INDEX_SETTINGS, assert_exact_knn, assert_uses_index, make_vectors, recreate_database, \
    vector_text


class Vector(UserDefinedType):
    """The `vector(n)` column type; values are numpy float32 arrays."""

    cache_ok = True

    def __init__(self, dimensions=None):
        self.dimensions = dimensions

    def get_col_spec(self, **kw):
        return "VECTOR" if self.dimensions is None else f"VECTOR({self.dimensions})"

    def bind_processor(self, dialect):
        def process(value):
            return None if value is None else vector_text(np.asarray(value, dtype=np.float32))
        return process

    def result_processor(self, dialect, coltype):
        def process(value):
            if value is None or isinstance(value, np.ndarray):
                return value
            return np.array(value[1:-1].split(","), dtype=np.float32)
        return process

    class comparator_factory(UserDefinedType.Comparator):
        def l2_distance(self, other):
            return self.op("<->", return_type=sa.Float)(other)

        def cosine_distance(self, other):
            return self.op("<=>", return_type=sa.Float)(other)

        def max_inner_product(self, other):
            return self.op("<#>", return_type=sa.Float)(other)


class VectorArray(postgresql.ARRAY):
    """vector[]: psycopg2 sends a list of strings as text[], so cast it."""

    cache_ok = True

    def bind_expression(self, bindvalue):
        return sa.cast(bindvalue, self)


Base = declarative_base()


class Item(Base):
    __tablename__ = "items"
    id = sa.Column(sa.Integer, primary_key=True)
    embedding = sa.Column(Vector(DIMS))
    history = sa.Column(VectorArray(Vector(3)))
    big = sa.Column(Vector(2000))
    __table_args__ = (
        sa.Index("items_embedding_idx", "embedding", postgresql_using="hnsw",
                 postgresql_with={"m": 16, "ef_construction": 64},
                 postgresql_ops={"embedding": "vector_l2_ops"}),
        sa.Index("items_embedding_cos_idx", "embedding", postgresql_using="hnsw",
                 postgresql_ops={"embedding": "vector_cosine_ops"}),
        sa.Index("items_embedding_ip_ivf", "embedding", postgresql_using="ivfflat",
                 postgresql_with={"lists": 10}, postgresql_ops={"embedding": "vector_ip_ops"}),
    )


@pytest.fixture(scope="module")
def engine():
    params = recreate_database("vecann_py_sqlalchemy", extension=False)
    url = sa.engine.URL.create("postgresql+psycopg2", username=params["user"], host=params["host"],
                               port=params["port"], database=params["dbname"])
    eng = sa.create_engine(url, future=True)

    # vector[] results: let psycopg2 split the array; Vector parses each element.
    @sa.event.listens_for(eng, "connect")
    def register_array(dbapi_connection, connection_record):
        with dbapi_connection.cursor() as cur:
            cur.execute("SELECT to_regtype('vector[]')::oid")
            (array_oid,) = cur.fetchone()
        if array_oid is not None:
            psycopg2.extensions.register_type(
                psycopg2.extensions.new_array_type((array_oid,), "VECTOR[]", psycopg2.STRING), dbapi_connection)

    with eng.begin() as conn:
        conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS vecann"))
    eng.dispose()  # new connections see the type
    Base.metadata.create_all(eng)
    yield eng
    eng.dispose()


@pytest.fixture(scope="module")
def items(engine):
    data = make_vectors(seed=41)
    with Session(engine) as session:
        session.add_all([Item(id=i, embedding=v) for i, v in enumerate(data, start=1)])
        session.commit()
    with engine.begin() as conn:
        conn.execute(sa.text("ANALYZE items"))
    return data


def test_create_all_made_the_hnsw_indexes(engine):
    with engine.connect() as conn:
        defs = dict(conn.execute(sa.text(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'items'")).all())
    # vector_l2_ops is the default operator class, so the definition omits it.
    assert "USING hnsw (embedding) WITH (m='16', ef_construction='64')" in defs["items_embedding_idx"]
    assert "USING hnsw (embedding vector_cosine_ops)" in defs["items_embedding_cos_idx"]
    assert "USING ivfflat (embedding vector_ip_ops) WITH (lists='10')" in defs["items_embedding_ip_ivf"]


def test_round_trip_null_array_large(engine):
    big = np.random.default_rng(7).standard_normal(2000).astype(np.float32)
    small = np.float32([1.5, -2.25, 3e-7])
    with Session(engine) as session:
        session.add_all([
            Item(id=100001, embedding=None, history=[small, np.float32([4, 5, 6])], big=big),
            Item(id=100002, embedding=None, history=None, big=None),
        ])
        session.commit()
    with Session(engine) as session:
        first = session.get(Item, 100001)
        second = session.get(Item, 100002)
        assert first.embedding is None
        np.testing.assert_array_equal(first.big, big)
        assert len(first.history) == 2
        np.testing.assert_array_equal(first.history[0], small)
        np.testing.assert_array_equal(first.history[1], [4, 5, 6])
        assert second.history is None and second.big is None
        session.execute(sa.delete(Item).where(Item.id > 100000))
        session.commit()


def test_values_read_back_exactly(engine, items):
    with Session(engine) as session:
        got = session.scalars(sa.select(Item.embedding).order_by(Item.id)).all()
    np.testing.assert_array_equal(np.stack(got), items)


def test_distance_expressions(engine):
    with Session(engine) as session:
        q = sa.cast(np.float32([3, 4]), Vector(2))
        origin = sa.cast(np.float32([0, 0]), Vector(2))
        assert session.scalar(sa.select(origin.l2_distance(q))) == pytest.approx(5.0)
        assert session.scalar(sa.select(q.max_inner_product(q))) == pytest.approx(-25.0)
        assert session.scalar(sa.select(sa.func.vector_dims(q))) == 2


def capture_sql(engine):
    """Collects (statement, parameters) of what the engine sends to the driver."""
    sent = []

    def before(conn, cursor, statement, parameters, context, executemany):
        sent.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", before)
    return sent, lambda: sa.event.remove(engine, "before_cursor_execute", before)


@pytest.mark.parametrize("metric,index", [("l2", "items_embedding_idx"), ("cosine", "items_embedding_cos_idx"),
                                          ("ip", "items_embedding_ip_ivf")])
def test_nearest_neighbours_through_the_orm(engine, items, metric, index):
    queries = make_vectors(rows=4, seed=42)
    with Session(engine) as session:
        def knn(q):
            distance = (Item.embedding.op("<->")(q) if metric == "l2" else Item.embedding.cosine_distance(q)
                        if metric == "cosine" else Item.embedding.max_inner_product(q))
            return sa.select(Item).order_by(distance).limit(10)

        sent, stop = capture_sql(engine)
        session.scalars(knn(queries[0])).all()
        stop()
        statement, parameters = sent[-1]
        assert_uses_index(session.connection().exec_driver_sql("EXPLAIN " + statement, parameters).all(), index)

        for name, value in INDEX_SETTINGS.items():
            session.execute(sa.text(f"SET {name} = {value}"))
        assert_uses_index(session.connection().exec_driver_sql("EXPLAIN " + statement, parameters).all(), index)
        for q in queries:
            found = session.scalars(knn(q)).all()
            assert_exact_knn([item.id for item in found], items, q, 10, metric)
        session.rollback()


def test_nearest_neighbours_with_filter_and_distance_column(engine, items):
    q = make_vectors(rows=1, seed=43)[0]
    with Session(engine) as session:
        for name, value in INDEX_SETTINGS.items():
            session.execute(sa.text(f"SET {name} = {value}"))
        distance = Item.embedding.l2_distance(q).label("distance")
        rows = session.execute(sa.select(Item.id, distance).where(Item.id % 2 == 0).order_by(distance).limit(10)).all()
        session.rollback()
    ids = [r.id for r in rows]
    assert all(i % 2 == 0 for i in ids)
    assert_exact_knn([i // 2 for i in ids], items[1::2], q, 10, "l2")
    np.testing.assert_allclose([r.distance for r in rows],
                               np.linalg.norm(items[np.array(ids) - 1].astype(np.float64) - q, axis=1), rtol=1e-5)
