"""Test overrides: fixed, obviously fake keys and fast hashing; the database still comes from DATABASE_URL."""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-secret-key-not-for-production")
os.environ.setdefault("DANGJIAN_FIELD_KEYS", "t1:dGVzdC1rZXktMzItYnl0ZXMtbG9uZy4uLi4uLi4uLi4=")
os.environ.setdefault("DANGJIAN_LOOKUP_KEY", "test-lookup-key")
os.environ.setdefault("DJANGO_SECURE_COOKIES", "false")

from config.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed only; production uses Argon2
DEBUG = False
# The suite logs workers in with client.login and the login form; the second-factor tests turn this on.
DANGJIAN_REQUIRE_TOTP_FOR_STAFF = False
# Live-server request threads must not keep connections open, or PostgreSQL refuses to drop the test database.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
# Tasks run in the caller's thread (huey's immediate mode, in-memory storage); the queue's own tests build a
# real SQLite-backed huey.
HUEY = {**HUEY, "immediate": True}  # noqa: F405
# The suite sends thousands of anonymous requests from one address within a minute; the limiter's own tests
# switch it on.
DANGJIAN_PUBLIC_RATE_PER_MINUTE = 0
