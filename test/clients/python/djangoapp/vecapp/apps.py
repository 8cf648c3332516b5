"""App config: registers psycopg2 typecasters for vector[] on every new connection."""
from django.apps import AppConfig
from django.db.backends.signals import connection_created


class VecappConfig(AppConfig):
    name = "vecapp"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from .fields import register_vector_types

        def on_connect(sender, connection, **kwargs):
            if connection.vendor == "postgresql":
                register_vector_types(connection)

        connection_created.connect(on_connect, weak=False)
