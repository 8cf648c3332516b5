"""Django support for vecann's `vector` type, written as a user without
pgvector's helper package would: a VectorField (numpy float32 arrays), distance
expressions for annotate()/order_by(), and HnswIndex and IvfflatIndex, index
classes that migrations can create (USING hnsw ... WITH (m = ...,
ef_construction = ...); USING ivfflat ... WITH (lists = ...)).
"""
import numpy as np
import psycopg2.extensions
from django.contrib.postgres.indexes import PostgresIndex
from django.db import models
from django.db.models import FloatField, Func, Value


def vector_text(values):
    return "[" + ",".join(repr(float(x)) for x in values) + "]"


class VectorParam:
    """A query parameter that psycopg2 renders as a typed literal '[...]'::vector.

    Typed, so that a list of them is a vector[] (an untyped list of strings
    would be text[], which a vector[] column does not accept)."""

    def __init__(self, values):
        self.text = vector_text(values)

    def __conform__(self, protocol):
        return self if protocol is psycopg2.extensions.ISQLQuote else None

    def getquoted(self):
        return f"'{self.text}'::vector".encode()


def register_vector_types(connection):
    """Makes psycopg2 return vector[] values as lists (of text elements that
    VectorField parses). Needs the extension, so migration 0001 calls it too."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regtype('vector[]')::oid")
        (array_oid,) = cursor.fetchone()
    if array_oid is not None:
        array_type = psycopg2.extensions.new_array_type((array_oid,), "VECTOR[]", psycopg2.STRING)
        psycopg2.extensions.register_type(array_type, connection.connection)


class VectorField(models.Field):
    description = "vector of float4 (vecann / pgvector)"
    empty_strings_allowed = False

    def __init__(self, *args, dimensions=None, **kwargs):
        self.dimensions = dimensions
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        if self.dimensions is not None:
            kwargs["dimensions"] = self.dimensions
        return name, path, args, kwargs

    def db_type(self, connection):
        return "vector" if self.dimensions is None else f"vector({self.dimensions})"

    def to_python(self, value):
        if value is None or isinstance(value, np.ndarray):
            return value
        if isinstance(value, str):
            return np.array(value.strip()[1:-1].split(","), dtype=np.float32)
        return np.asarray(value, dtype=np.float32)

    def from_db_value(self, value, expression, connection):
        return self.to_python(value)

    def get_db_prep_value(self, value, connection, prepared=False):
        if value is None:
            return None
        return VectorParam(self.to_python(value))

    def value_to_string(self, obj):
        value = self.value_from_object(obj)
        return None if value is None else vector_text(value)


class DistanceBase(Func):
    """`column <op> vector`; the vector may be a numpy array or a list."""

    function = ""
    output_field = FloatField()

    def __init__(self, expression, vector, **extra):
        if not hasattr(vector, "resolve_expression"):
            vector = Value(vector, output_field=VectorField())
        super().__init__(expression, vector, **extra)


class L2Distance(DistanceBase):
    arg_joiner = " <-> "


class CosineDistance(DistanceBase):
    arg_joiner = " <=> "


class MaxInnerProduct(DistanceBase):
    arg_joiner = " <#> "


class HnswIndex(PostgresIndex):
    """CREATE INDEX ... USING hnsw (field opclass) WITH (m = ..., ef_construction = ...)."""

    suffix = "hnsw"

    def __init__(self, *expressions, m=None, ef_construction=None, **kwargs):
        self.m = m
        self.ef_construction = ef_construction
        super().__init__(*expressions, **kwargs)

    def deconstruct(self):
        path, args, kwargs = super().deconstruct()
        if self.m is not None:
            kwargs["m"] = self.m
        if self.ef_construction is not None:
            kwargs["ef_construction"] = self.ef_construction
        return path, args, kwargs

    def get_with_params(self):
        params = []
        if self.m is not None:
            params.append(f"m = {int(self.m)}")
        if self.ef_construction is not None:
            params.append(f"ef_construction = {int(self.ef_construction)}")
        return params


class IvfflatIndex(PostgresIndex):
    """CREATE INDEX ... USING ivfflat (field opclass) WITH (lists = ...)."""

    suffix = "ivfflat"

    def __init__(self, *expressions, lists=None, **kwargs):
        self.lists = lists
        super().__init__(*expressions, **kwargs)

    def deconstruct(self):
        path, args, kwargs = super().deconstruct()
        if self.lists is not None:
            kwargs["lists"] = self.lists
        return path, args, kwargs

    def get_with_params(self):
        return [] if self.lists is None else [f"lists = {int(self.lists)}"]
