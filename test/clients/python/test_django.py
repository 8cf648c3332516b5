"""Runs the Django app's tests (djangoapp/vecapp/tests.py) with Django's own
test runner, configured in-process against the scratch server: the runner
creates test_vecann_py_django, applies the app's migrations (CREATE EXTENSION,
the table, HNSW indexes), runs the tests and drops the database. Each Django
test is reported here as one pytest test.
"""
import os
import sys
import unittest

import django
import pytest
from django.conf import settings

from conftest import server_params

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "djangoapp"))

_params = server_params()
if not settings.configured:
    settings.configure(
        DATABASES={"default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": "vecann_py_django",
            "USER": _params["user"],
            "HOST": _params["host"],
            "PORT": str(_params["port"]),
        }},
        INSTALLED_APPS=["django.contrib.postgres", "vecapp.apps.VecappConfig"],
        USE_TZ=True,
    )
    django.setup()

from django.test.runner import DiscoverRunner  # noqa: E402  (needs settings)

import vecapp.tests as django_tests  # noqa: E402  (a module: pytest must not collect its TestCase itself)

LABEL = "vecapp.tests"
TEST_IDS = [test.id() for test in unittest.defaultTestLoader.loadTestsFromModule(django_tests)._tests
            for test in test]


class RecordingResult(unittest.TextTestResult):
    """Keeps each test's outcome: None for a pass, else the traceback."""

    outcomes = {}

    def addSuccess(self, test):
        super().addSuccess(test)
        self.outcomes[test.id()] = None

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self.outcomes[test.id()] = self._exc_info_to_string(err, test)

    def addError(self, test, err):
        super().addError(test, err)
        self.outcomes[test.id()] = self._exc_info_to_string(err, test)


class Runner(DiscoverRunner):
    def get_resultclass(self):
        return RecordingResult


@pytest.fixture(scope="module")
def django_outcomes():
    RecordingResult.outcomes.clear()
    failures = Runner(verbosity=1, interactive=False).run_tests([LABEL])
    return failures, dict(RecordingResult.outcomes)


def test_django_found_the_tests():
    assert len(TEST_IDS) >= 5, TEST_IDS


@pytest.mark.parametrize("test_id", TEST_IDS, ids=[t.rsplit(".", 1)[-1] for t in TEST_IDS])
def test_django(django_outcomes, test_id):
    failures, outcomes = django_outcomes
    assert test_id in outcomes, (f"{test_id} did not run ({failures} failures); other outcomes: "
                                 + "\n".join(str(v) for v in outcomes.values() if v))
    assert outcomes[test_id] is None, outcomes[test_id]
