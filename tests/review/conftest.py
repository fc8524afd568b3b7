"""Fixtures the review tests borrow from the other suites."""

from tests.web.conftest import web  # noqa: F401  (a real uvicorn on the test Redis)
