"""Optional integrations of payplane with other libraries, each behind its extra.

Each lives in its own module, is imported only when used and is switched on with one
call or one settings line: :mod:`payplane.contrib.opentelemetry` (``payplane[otel]``),
:mod:`payplane.contrib.django` (``payplane[django]``, a Django app) and
:mod:`payplane.contrib.sqlalchemy` (``payplane[sqlalchemy]``).
"""
