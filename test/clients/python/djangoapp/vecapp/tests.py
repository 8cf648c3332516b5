"""Django tests of vecann (run by Django's test runner, from ../../test_django.py):
the migration created the extension and the HNSW indexes; VectorField round
trips numpy arrays, NULLs, vector[] and 2,000 dimensions; nearest neighbours
through order_by(L2Distance(...))[:k] are exact and QuerySet.explain() shows
the HNSW index."""
import numpy as np
from django.core.management import call_command
from django.db import connection
from django.test import TestCase

from conftest import INDEX_SETTINGS, assert_exact_knn, assert_uses_index, make_vectors
from vecapp.fields import CosineDistance, L2Distance, MaxInnerProduct
from vecapp.models import Item


def set_local(settings):
    """SET LOCAL: the test's transaction ends them."""
    with connection.cursor() as cursor:
        for name, value in settings.items():
            cursor.execute(f"SET LOCAL {name} = {value}")


class VectorTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.data = make_vectors(seed=51)
        Item.objects.bulk_create(
            [Item(id=i, embedding=v, category=i % 4) for i, v in enumerate(cls.data, start=1)], batch_size=1000)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE vecapp_item")

    def test_migrations_match_the_models(self):
        # HnswIndex and VectorField deconstruct to what 0001 says.
        call_command("makemigrations", "vecapp", check=True, dry_run=True, verbosity=0)

    def test_migration_created_extension_and_indexes(self):
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_extension WHERE extname = 'vecann'")
            self.assertEqual(cursor.fetchone()[0], 1)
            cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'vecapp_item'")
            defs = dict(cursor.fetchall())
        self.assertIn("USING hnsw (embedding) WITH (m='16', ef_construction='64')", defs["item_embedding_l2_hnsw"])
        self.assertIn("USING hnsw (embedding vector_cosine_ops)", defs["item_embedding_cos_hnsw"])
        self.assertIn("USING ivfflat (embedding vector_ip_ops) WITH (lists='10')", defs["item_embedding_ip_ivfflat"])

    def test_values_read_back_exactly(self):
        got = list(Item.objects.order_by("id").values_list("embedding", flat=True))
        np.testing.assert_array_equal(np.stack(got), self.data)

    def test_null_vector_array_and_large(self):
        big = np.random.default_rng(8).standard_normal(2000).astype(np.float32)
        Item.objects.create(id=100001, embedding=None, history=[np.float32([1.5, -2.25, 3e-7]), [4, 5, 6]], big=big)
        Item.objects.create(id=100002, embedding=None, history=None, big=None)
        first = Item.objects.get(id=100001)
        second = Item.objects.get(id=100002)
        self.assertIsNone(first.embedding)
        self.assertEqual(len(first.history), 2)
        np.testing.assert_array_equal(first.history[0], np.float32([1.5, -2.25, 3e-7]))
        np.testing.assert_array_equal(first.history[1], [4, 5, 6])
        np.testing.assert_array_equal(first.big, big)
        self.assertIsNone(second.history)
        self.assertIsNone(second.big)

    def check_knn(self, distance, metric, index):
        queries = make_vectors(rows=4, seed=52)

        def knn(q):
            return Item.objects.order_by(distance("embedding", q))[:10]

        assert_uses_index(knn(queries[0]).explain(), index)
        set_local(INDEX_SETTINGS)
        assert_uses_index(knn(queries[0]).explain(), index)
        for q in queries:
            assert_exact_knn([item.id for item in knn(q)], self.data, q, 10, metric)

    def test_nearest_neighbours_l2(self):
        self.check_knn(L2Distance, "l2", "item_embedding_l2_hnsw")

    def test_nearest_neighbours_cosine(self):
        self.check_knn(CosineDistance, "cosine", "item_embedding_cos_hnsw")

    def test_nearest_neighbours_inner_product_ivfflat(self):
        self.check_knn(MaxInnerProduct, "ip", "item_embedding_ip_ivfflat")

    def test_annotate_filter_and_distance(self):
        q = make_vectors(rows=1, seed=53)[0]
        set_local(INDEX_SETTINGS)
        found = list(Item.objects.filter(category=2).annotate(distance=L2Distance("embedding", q))
                     .order_by("distance")[:10])
        ids = [item.id for item in found]
        self.assertTrue(all(i % 4 == 2 for i in ids))
        assert_exact_knn([i // 4 + 1 for i in ids], self.data[1::4], q, 10, "l2")
        np.testing.assert_allclose([item.distance for item in found],
                                   np.linalg.norm(self.data[np.array(ids) - 1].astype(np.float64) - q, axis=1),
                                   rtol=1e-5)

    def test_inner_product_expression(self):
        value = Item.objects.annotate(ip=MaxInnerProduct("embedding", self.data[0])).get(id=1).ip
        self.assertAlmostEqual(value, -float(self.data[0].astype(np.float64) @ self.data[0]), places=3)
