"""Fixtures for the push channels: loopback fake servers, with the settings pointed at them.

    def test_something(fake_sms):          # DANGJIAN_SMS now talks to the fake
        ...
        assert fake_sms.received[0]["PhoneNumbers"] == "13800138000"

Each fixture starts its server for one test and stops it at teardown (so a test may also call `.stop()`
to see what a vanished server does).
"""

import pytest

from dangjian.notifications.channels import wechat

from .fakes import BlackHole, FakeSms, FakeSmtp, FakeWechat


@pytest.fixture
def fake_smtp(settings):
    server = FakeSmtp().start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"  # the test runner's is locmem
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = server.port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    settings.DEFAULT_FROM_EMAIL = "智慧党建 <dangjian@example.org>"
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def fake_sms(settings):
    server = FakeSms().start()
    settings.DANGJIAN_SMS = server.settings_block()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def fake_wechat(settings):
    server = FakeWechat().start()
    settings.DANGJIAN_WECHAT = server.settings_block()
    wechat.forget_token()
    try:
        yield server
    finally:
        wechat.forget_token()
        server.stop()


@pytest.fixture
def black_hole():
    """A port that accepts connections and never answers (for timeouts)."""
    hole = BlackHole()
    try:
        yield hole
    finally:
        hole.close()
