"""Creates the vecann extension, the Item table, an HNSW index through the
HnswIndex and IvfflatIndex classes (AddIndex) and a cosine HNSW index through RunSQL."""
import django.contrib.postgres.fields
from django.db import migrations, models

import vecapp.fields


def register_types(apps, schema_editor):
    # This connection opened before the extension existed: teach it vector[] now.
    vecapp.fields.register_vector_types(schema_editor.connection)


class Migration(migrations.Migration):
    initial = True
    dependencies = []

    operations = [
        migrations.RunSQL("CREATE EXTENSION IF NOT EXISTS vecann", reverse_sql="DROP EXTENSION IF EXISTS vecann"),
        migrations.RunPython(register_types, migrations.RunPython.noop),
        migrations.CreateModel(
            name="Item",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("embedding", vecapp.fields.VectorField(dimensions=16, null=True)),
                ("history", django.contrib.postgres.fields.ArrayField(
                    base_field=vecapp.fields.VectorField(dimensions=3), null=True, size=None)),
                ("big", vecapp.fields.VectorField(dimensions=2000, null=True)),
                ("category", models.IntegerField(default=0)),
            ],
        ),
        migrations.AddIndex(
            model_name="item",
            index=vecapp.fields.HnswIndex(ef_construction=64, fields=["embedding"], m=16,
                                          name="item_embedding_l2_hnsw", opclasses=["vector_l2_ops"]),
        ),
        migrations.AddIndex(
            model_name="item",
            index=vecapp.fields.IvfflatIndex(fields=["embedding"], lists=10, name="item_embedding_ip_ivfflat",
                                             opclasses=["vector_ip_ops"]),
        ),
        migrations.RunSQL(
            "CREATE INDEX item_embedding_cos_hnsw ON vecapp_item USING hnsw (embedding vector_cosine_ops)",
            reverse_sql="DROP INDEX item_embedding_cos_hnsw",
        ),
    ]
