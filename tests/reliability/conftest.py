"""The reliability tests reuse the production tests' app (a project, its database at 1.0.0, a bucket)."""

from tests.production.conftest import app  # noqa: F401
