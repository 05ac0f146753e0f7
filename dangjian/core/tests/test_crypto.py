"""Field encryption (AES-GCM with rotating keys) and keyed lookup digests."""

import base64

import pytest
from cryptography.exceptions import InvalidTag
from django.core.exceptions import ImproperlyConfigured

from dangjian.core import crypto

K1 = "k1:" + base64.b64encode(b"1" * 32).decode()
K2 = "k2:" + base64.b64encode(b"2" * 32).decode()
PLAIN = "11010519491231002X"


@pytest.fixture
def k1(settings):
    settings.DANGJIAN_FIELD_KEYS = K1
    return settings


def test_round_trip_and_format(k1):
    token = crypto.encrypt(PLAIN)
    assert token.startswith("k1:")
    assert PLAIN not in token
    assert crypto.decrypt(token) == PLAIN


def test_same_plaintext_encrypts_differently_each_time(k1):
    a, b = crypto.encrypt(PLAIN), crypto.encrypt(PLAIN)
    assert a != b
    assert crypto.decrypt(a) == crypto.decrypt(b) == PLAIN


def test_unicode_round_trip(k1):
    assert crypto.decrypt(crypto.encrypt("北京市东城区某街道1号")) == "北京市东城区某街道1号"


def test_empty_stays_empty(k1):
    assert crypto.encrypt("") == ""
    assert crypto.decrypt("") == ""


def test_key_rotation(settings):
    settings.DANGJIAN_FIELD_KEYS = K1
    old = crypto.encrypt(PLAIN)
    settings.DANGJIAN_FIELD_KEYS = f"{K2},{K1}"
    new = crypto.encrypt(PLAIN)
    assert new.startswith("k2:") and old.startswith("k1:")
    assert crypto.decrypt(old) == PLAIN  # old tokens still readable
    assert crypto.decrypt(new) == PLAIN
    settings.DANGJIAN_FIELD_KEYS = K2  # k1 retired after re-encryption: its tokens are no longer readable
    assert crypto.decrypt(new) == PLAIN
    with pytest.raises(ImproperlyConfigured):
        crypto.decrypt(old)


def test_key_rotation_with_spaces_in_the_setting(settings):
    settings.DANGJIAN_FIELD_KEYS = K1
    old = crypto.encrypt(PLAIN)
    settings.DANGJIAN_FIELD_KEYS = f"{K2} , {K1}"
    assert crypto.decrypt(old) == PLAIN
    assert crypto.encrypt(PLAIN).startswith("k2:")


def _flip(token: str, index: int) -> str:
    key_id, _, b64 = token.partition(":")
    raw = bytearray(base64.b64decode(b64))
    raw[index] ^= 0x01
    return f"{key_id}:{base64.b64encode(bytes(raw)).decode()}"


@pytest.mark.parametrize("index", [0, 12, 20, -1], ids=["nonce", "first-ciphertext-byte", "middle", "tag"])
def test_tampered_ciphertext_does_not_decrypt(k1, index):
    token = crypto.encrypt(PLAIN)
    with pytest.raises(InvalidTag):
        crypto.decrypt(_flip(token, index))


def test_a_token_relabelled_with_another_key_id_does_not_decrypt(settings):
    """The key id is authenticated data: a token cannot be passed off as another key's."""
    same_key_two_ids = "a:" + base64.b64encode(b"1" * 32).decode() + ",b:" + base64.b64encode(b"1" * 32).decode()
    settings.DANGJIAN_FIELD_KEYS = same_key_two_ids
    token = crypto.encrypt(PLAIN)
    assert token.startswith("a:")
    with pytest.raises(InvalidTag):
        crypto.decrypt("b:" + token.partition(":")[2])


def test_unknown_key_id_is_a_configuration_error(k1):
    with pytest.raises(ImproperlyConfigured):
        crypto.decrypt("zz:" + crypto.encrypt(PLAIN).partition(":")[2])


@pytest.mark.parametrize(
    "spec",
    ["k1:" + base64.b64encode(b"short").decode(), ":" + base64.b64encode(b"1" * 32).decode(), "k1:abc", "k1"],
    ids=["short-key", "no-key-id", "bad-base64", "no-key"],
)
def test_malformed_key_setting_is_refused(settings, spec):
    settings.DANGJIAN_FIELD_KEYS = spec
    with pytest.raises(ImproperlyConfigured):
        crypto.encrypt(PLAIN)


def test_lookup_digest_is_keyed_and_deterministic(settings):
    settings.DANGJIAN_LOOKUP_KEY = "one"
    a = crypto.lookup_digest(PLAIN)
    assert a == crypto.lookup_digest(PLAIN)
    assert len(a) == 64 and PLAIN not in a
    assert crypto.lookup_digest(PLAIN.lower()) != a  # callers normalise first
    settings.DANGJIAN_LOOKUP_KEY = "two"
    assert crypto.lookup_digest(PLAIN) != a
    assert crypto.lookup_digest("") == ""


def test_lookup_digest_does_not_depend_on_the_field_keys(settings):
    settings.DANGJIAN_FIELD_KEYS = K1
    a = crypto.lookup_digest(PLAIN)
    settings.DANGJIAN_FIELD_KEYS = f"{K2},{K1}"
    assert crypto.lookup_digest(PLAIN) == a  # rotating field keys keeps search working
