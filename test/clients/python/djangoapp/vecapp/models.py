"""The test app's model: an item with an embedding, a vector[] history, a
2,000-dimension vector and a category, and its HNSW and ivfflat indexes declared in Meta."""
from django.contrib.postgres.fields import ArrayField
from django.db import models

from .fields import HnswIndex, IvfflatIndex, VectorField


class Item(models.Model):
    embedding = VectorField(dimensions=16, null=True)
    history = ArrayField(VectorField(dimensions=3), null=True)
    big = VectorField(dimensions=2000, null=True)
    category = models.IntegerField(default=0)

    class Meta:
        indexes = [
            HnswIndex(name="item_embedding_l2_hnsw", fields=["embedding"], opclasses=["vector_l2_ops"],
                      m=16, ef_construction=64),
            IvfflatIndex(name="item_embedding_ip_ivfflat", fields=["embedding"], opclasses=["vector_ip_ops"],
                         lists=10),
        ]
