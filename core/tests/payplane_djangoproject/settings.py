"""Settings of the test project: SQLite always, PostgreSQL when the tests have a server."""

from __future__ import annotations

import os
from typing import Any

SECRET_KEY = "django-test-only-not-a-payplane-secret"
DEBUG = False
USE_TZ = True
ALLOWED_HOSTS = ["testserver"]
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "payplane.contrib.django",
    "payplane_djangoproject",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "payplane_djangoproject.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast, for tests
# Every request is one transaction: the payplane view must be exempt from it.
ATOMIC_REQUESTS = True

DATABASES: dict[str, dict[str, Any]] = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ["PAYPLANE_DJANGO_SQLITE"],
        "ATOMIC_REQUESTS": ATOMIC_REQUESTS,
        "OPTIONS": {"init_command": "PRAGMA journal_mode=WAL", "timeout": 30},
    },
    "fresh_sqlite": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ["PAYPLANE_DJANGO_FRESH_SQLITE"],
        "OPTIONS": {"transaction_mode": "IMMEDIATE"},
    },
}


def _postgres(conninfo: str) -> dict[str, Any]:
    from psycopg.conninfo import conninfo_to_dict  # noqa: PLC0415

    parts = conninfo_to_dict(conninfo)
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": parts.get("dbname", ""),
        "USER": parts.get("user", ""),
        "PASSWORD": parts.get("password", ""),
        "HOST": parts.get("host", ""),
        "PORT": parts.get("port", ""),
        "OPTIONS": {"options": parts.get("options", "")},
    }


if os.environ.get("PAYPLANE_DJANGO_POSTGRES"):
    DATABASES["postgres"] = _postgres(os.environ["PAYPLANE_DJANGO_POSTGRES"])
    DATABASES["fresh_postgres"] = _postgres(os.environ["PAYPLANE_DJANGO_FRESH_POSTGRES"])

PAYPLANE_INBOX = "payplane_djangoproject.payments.sqlite_inbox"
