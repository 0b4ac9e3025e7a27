"""Suite-wide test configuration: hypothesis profiles and the no-secret-in-any-view check."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings
from payplane_logcheck import (
    ESCAPED_ERRORS,
    HOOK_PAYLOADS,
    checked_secrets,
    leaking_errors,
    leaking_hooks,
    leaking_loggers,
    reset,
)

from payplane.testing import captured_log_records

settings.register_profile("dev", max_examples=50)
settings.register_profile(
    "ci", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "deep", max_examples=5000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


@pytest.fixture(autouse=True)
def no_secret_in_views() -> Iterator[None]:
    """Fail the test if a secret it configured shows in a log record, an error or a hook.

    Log records of every logger at any level; every payplane error that escaped to the
    test (``str``, ``repr``, ``args``, attributes, chain of causes); every payload handed
    to a hook implementation. See ``core/tests/payplane_logcheck.py``.
    """
    reset()
    with captured_log_records() as records:
        yield
    secrets = checked_secrets()
    leaks = leaking_loggers(records, secrets)
    assert not leaks, f"secret values reached log records of: {leaks}"
    errors = leaking_errors(ESCAPED_ERRORS, secrets)
    assert not errors, f"secret values reached errors: {errors}"
    hooks = leaking_hooks(HOOK_PAYLOADS, secrets)
    assert not hooks, f"secret values reached payloads of hooks: {hooks}"
    reset()


@pytest.fixture
def postgres_conninfo() -> Iterator[str]:
    """A PostgreSQL connection string whose search_path is a fresh schema, dropped after.

    `.ci/run` starts a server and sets PAYPLANE_TEST_POSTGRES_DSN. Without it the test is
    skipped locally and fails under CI, so PostgreSQL coverage cannot vanish silently.
    """
    import uuid  # noqa: PLC0415

    import psycopg  # noqa: PLC0415

    dsn = os.environ.get("PAYPLANE_TEST_POSTGRES_DSN")
    if not dsn:
        if os.environ.get("CI"):
            pytest.fail("PAYPLANE_TEST_POSTGRES_DSN is not set: .ci/run starts PostgreSQL")
        pytest.skip("PAYPLANE_TEST_POSTGRES_DSN is not set (run .ci/postgres start DIR)")
    schema = f"t_{uuid.uuid4().hex}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield psycopg.conninfo.make_conninfo(dsn, options=f"-csearch_path={schema}")
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
