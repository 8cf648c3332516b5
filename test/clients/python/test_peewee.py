"""vecann through Peewee (Debian 12's 3.14, on psycopg2), the way a user
without pgvector's helper package writes it: a VectorField whose column type
is vector(n) and whose values are numpy arrays, distance methods that build
`<->`, `<=>`, `<#>` and `<+>` expressions, and an HNSW index declared on the
model (ModelIndex with USING hnsw and an operator class) that create_tables()
makes. Checks round trips, NULLs, bulk inserts, exact nearest-neighbour
answers through the ORM with a WHERE clause, the avg/sum aggregates, EXPLAIN
of the SQL Peewee generated using the index, and that a dimension error
reaches the application as an IntegrityError/DataError with pgvector's
wording.
"""
import numpy as np
import peewee
import pytest

from conftest import DIMS, INDEX_SETTINGS, assert_exact_knn, assert_uses_index, make_vectors, vector_text


class VectorField(peewee.Field):
    field_type = "vector"

    def __init__(self, dimensions=None, *args, **kwargs):
        self.dimensions = dimensions
        super().__init__(*args, **kwargs)

    def get_modifiers(self):
        return [self.dimensions] if self.dimensions else None

    def db_value(self, value):
        return None if value is None else vector_text(value)

    def python_value(self, value):
        return None if value is None else np.array(value[1:-1].split(","), dtype=np.float32)

    def _distance(self, op, value):
        # Peewee converts the right-hand side with this field's db_value.
        return peewee.Expression(self, op, value)

    def l2_distance(self, value):
        return self._distance("<->", value)

    def cosine_distance(self, value):
        return self._distance("<=>", value)

    def max_inner_product(self, value):
        return self._distance("<#>", value)

    def l1_distance(self, value):
        return self._distance("<+>", value)


db = peewee.PostgresqlDatabase(None)


class Item(peewee.Model):
    embedding = VectorField(DIMS, null=True)
    category = peewee.IntegerField()

    class Meta:
        database = db
        table_name = "items"


Item.add_index(peewee.ModelIndex(Item, (peewee.SQL("embedding vector_l2_ops"),), using="hnsw",
                                 name="items_embedding_idx"))
Item.add_index(peewee.ModelIndex(Item, (peewee.SQL("embedding vector_cosine_ops"),), using="hnsw",
                                 name="items_embedding_cos_idx"))
Item.add_index(peewee.ModelIndex(Item, (peewee.SQL("embedding vector_ip_ops"),), using="hnsw",
                                 name="items_embedding_ip_idx"))


@pytest.fixture(scope="module")
def items(database):
    db.init(database["dbname"], host=database["host"], port=database["port"], user=database["user"])
    db.connect()
    db.create_tables([Item])
    data = make_vectors(seed=51)
    with db.atomic():
        Item.insert_many([{"id": i, "embedding": v, "category": i % 4} for i, v in enumerate(data, start=1)]).execute()
    db.execute_sql("ANALYZE items")
    yield data
    db.close()


def test_table_and_indexes(items):
    cols = {c.name: c.data_type for c in db.get_columns("items")}
    assert cols["embedding"] == "USER-DEFINED"
    defs = dict(db.execute_sql("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'items'").fetchall())
    assert "USING hnsw (embedding)" in defs["items_embedding_idx"]  # vector_l2_ops is the default
    assert "USING hnsw (embedding vector_cosine_ops)" in defs["items_embedding_cos_idx"]
    assert db.execute_sql("SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
                          "WHERE attrelid = 'items'::regclass AND attname = 'embedding'").fetchone()[0] == \
        f"vector({DIMS})"


def test_round_trip_and_null(items):
    big = Item.create(id=100000, embedding=np.float32([1.5, -2.25, 3e-7] + [0] * (DIMS - 3)), category=9)
    Item.create(id=100001, embedding=None, category=9)
    got = {i.id: i.embedding for i in Item.select().where(Item.category == 9)}
    np.testing.assert_array_equal(got[100000], big.embedding)
    assert got[100001] is None
    Item.delete().where(Item.category == 9).execute()
    stored = np.stack([i.embedding for i in Item.select().order_by(Item.id)])
    np.testing.assert_array_equal(stored, items)


@pytest.mark.parametrize("metric,method,index", [("l2", "l2_distance", "items_embedding_idx"),
                                                  ("cosine", "cosine_distance", "items_embedding_cos_idx"),
                                                  ("ip", "max_inner_product", "items_embedding_ip_idx")])
def test_nearest_neighbours(items, metric, method, index):
    queries = make_vectors(rows=4, seed=52)
    query = Item.select(Item.id).order_by(getattr(Item.embedding, method)(queries[0])).limit(10)
    sql, params = query.sql()
    assert_uses_index(db.execute_sql("EXPLAIN " + sql, params).fetchall(), index)
    with db.atomic():
        for name, value in INDEX_SETTINGS.items():
            db.execute_sql(f"SET LOCAL {name} = {value}")
        for q in queries:
            ids = [i.id for i in Item.select(Item.id).order_by(getattr(Item.embedding, method)(q)).limit(10)]
            assert_exact_knn(ids, items, q, 10, metric)


def test_nearest_neighbours_with_filter(items):
    q = make_vectors(rows=1, seed=53)[0]
    with db.atomic():
        for name, value in INDEX_SETTINGS.items():
            db.execute_sql(f"SET LOCAL {name} = {value}")
        rows = list(Item.select(Item.id).where(Item.category == 2).order_by(Item.embedding.l2_distance(q)).limit(5))
    subset = np.flatnonzero(np.arange(1, len(items) + 1) % 4 == 2)
    dist = np.sqrt(((items[subset].astype(np.float64) - q) ** 2).sum(axis=1))
    assert [r.id for r in rows] == list(subset[np.argsort(dist)[:5]] + 1)


def test_distance_in_select_and_aggregates(items):
    q = items[0]
    row = (Item.select(Item.id, Item.embedding.l1_distance(q).alias("d")).order_by(Item.id).limit(1).get())
    assert row.d == 0
    parse = Item.embedding.python_value
    avg = Item.select(peewee.fn.avg(Item.embedding).python_value(parse)).scalar()
    # Peewee never converts the result of SUM (nor COUNT): parse it by hand.
    total = parse(Item.select(peewee.fn.sum(Item.embedding)).scalar())
    np.testing.assert_allclose(avg, items.astype(np.float64).mean(axis=0), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(total, items.astype(np.float64).sum(axis=0), rtol=1e-4, atol=1e-3)


def test_dimension_error(items):
    with pytest.raises(peewee.DataError, match="expected 16 dimensions, not 2"):
        with db.atomic():
            Item.create(id=200000, embedding=np.float32([1, 2]), category=0)
