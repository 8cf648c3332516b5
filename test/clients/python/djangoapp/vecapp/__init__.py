# A small Django app that stores embeddings in a vecann `vector` column; its
# tests (tests.py) run under Django's test runner from ../../test_django.py.
