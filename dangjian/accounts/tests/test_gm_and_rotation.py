"""国密 mode (SM4 fields, HMAC-SM3 digests, SM3 audit chain, PBKDF2-SM3 passwords) and key rotation,
checked against what is stored in the database, not against what the code says it stores."""

import base64
import datetime as dt

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from django.contrib.auth.hashers import check_password, make_password
from django.core.management import call_command
from django.db import connection

from dangjian.accounts.keys import field_keys_rotate, rows_under_old_keys
from dangjian.audit import triggers
from dangjian.audit.models import AuditEntry
from dangjian.audit.selectors import audit_chain_verify
from dangjian.audit.services import log_action
from dangjian.core import crypto
from dangjian.core.actors import SYSTEM
from dangjian.core.scoping import system_scope
from dangjian.members.models import Member
from dangjian.members.selectors import member_list
from dangjian.testing import make_member

AES = "k1:" + base64.b64encode(b"1" * 32).decode()
SM4_RAW = b"4" * 16
SM4 = "g1:sm4:" + base64.b64encode(SM4_RAW).decode()
PLAIN = "11010519491231002X"


def stored(member, column):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM members_member WHERE id = %s", [member.pk])  # noqa: S608 (fixed names)
        return cursor.fetchone()[0]


def test_sm4_fields_are_real_sm4_gcm(settings):
    settings.DANGJIAN_FIELD_KEYS = SM4
    token = crypto.encrypt(PLAIN)
    assert token.startswith("g1:") and PLAIN not in token
    raw = base64.b64decode(token.partition(":")[2])
    decryptor = Cipher(algorithms.SM4(SM4_RAW), modes.GCM(raw[:12], raw[-16:])).decryptor()
    decryptor.authenticate_additional_data(b"g1")
    assert (decryptor.update(raw[12:-16]) + decryptor.finalize()).decode() == PLAIN  # independent decryption
    assert crypto.decrypt(token) == PLAIN


@pytest.mark.parametrize("spec", ["g1:sm4:" + base64.b64encode(b"x" * 32).decode(), "g1:sm5:" + base64.b64encode(SM4_RAW).decode(),
                                  f"{AES},k1:sm4:" + base64.b64encode(SM4_RAW).decode()],
                         ids=["sm4-key-of-32-bytes", "unknown-algorithm", "duplicate-key-id"])
def test_bad_sm4_key_settings_are_refused(settings, spec):
    from django.core.exceptions import ImproperlyConfigured

    settings.DANGJIAN_FIELD_KEYS = spec
    with pytest.raises(ImproperlyConfigured):
        crypto.encrypt(PLAIN)


def test_gm_mode_digests_are_hmac_sm3(settings):
    from cryptography.hazmat.primitives import hashes, hmac

    settings.DANGJIAN_LOOKUP_KEY = "lookup"
    sha = crypto.lookup_digest(PLAIN)
    settings.DANGJIAN_GM_MODE = True
    mac = hmac.HMAC(b"lookup", hashes.SM3())
    mac.update(PLAIN.encode())
    assert crypto.lookup_digest(PLAIN) == mac.finalize().hex() != sha


def test_rotation_moves_every_row_to_the_new_key_and_search_keeps_working(district, settings):
    old = settings.DANGJIAN_FIELD_KEYS  # the district's members were sealed with it
    with system_scope("test"):
        extra = make_member(district.branch_a1, id_number=PLAIN, born=dt.date(1949, 12, 31), sex="female")
    assert stored(extra, "id_number_encrypted").startswith(crypto.current_key().key_id + ":")
    # 国密 from now on: the SM4 key first, the AES key kept for reading until rotation is done.
    settings.DANGJIAN_FIELD_KEYS = f"{SM4},{old}"
    settings.DANGJIAN_GM_MODE = True
    assert rows_under_old_keys()["members.member.id_number_encrypted"] == Member.unscoped.count()
    with system_scope("test"):
        assert not member_list().filter(id_number_digest=crypto.lookup_digest(PLAIN)).exists()  # digests stale
    done = field_keys_rotate(actor=SYSTEM, rehash=True, batch=2)  # small batches: the paging is exercised
    members = Member.unscoped.count()
    assert done["members.member.id_number_encrypted"] == members
    assert done["members.member.id_number_encrypted.digest"] == members
    assert not any(rows_under_old_keys().values())
    assert stored(extra, "id_number_encrypted").startswith("g1:")
    settings.DANGJIAN_FIELD_KEYS = SM4  # the old key retired: everything still reads
    extra.refresh_from_db()
    assert crypto.decrypt(extra.id_number_encrypted) == PLAIN
    with system_scope("test"):
        assert member_list().get(id_number_digest=crypto.lookup_digest(PLAIN)).pk == extra.pk
    entry = AuditEntry.objects.get(action="accounts.keys.rotated")
    assert entry.changes["key"] == "g1" and entry.changes["rehash"] is True
    assert field_keys_rotate(actor=SYSTEM)["members.member.id_number_encrypted"] == 0  # a second run: nothing to do


def test_the_command_reports_what_is_left(district, settings, capsys):
    settings.DANGJIAN_FIELD_KEYS = f"{SM4},{settings.DANGJIAN_FIELD_KEYS}"
    call_command("rotate_field_keys", "--check")
    assert "仍有记录由旧密钥加密" in capsys.readouterr().out
    call_command("rotate_field_keys")
    call_command("rotate_field_keys", "--check")
    assert "可以移除旧密钥" in capsys.readouterr().out


def test_the_audit_chain_survives_switching_to_sm3(db, settings):
    log_action(actor=SYSTEM, action="accounts.keys.rotated", changes={"n": 1})
    settings.DANGJIAN_GM_MODE = True
    log_action(actor=SYSTEM, action="accounts.keys.rotated", changes={"n": 2})
    first, second = AuditEntry.objects.order_by("id")
    assert first.hash == first.compute_hash(algorithm="sha256")
    assert second.hash == second.compute_hash(algorithm="sm3") != second.compute_hash(algorithm="sha256")
    assert audit_chain_verify().broken_at is None
    triggers.remove(connection)  # as an intruder with database access would
    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditentry SET target_label = %s WHERE id = %s", ["篡改", second.pk])
    assert audit_chain_verify().broken_at == second.pk  # a forged SM3 entry is caught too


def test_gm_password_hasher_round_trip_and_upgrade(settings):
    settings.PASSWORD_HASHERS = ["dangjian.accounts.hashers.PBKDF2SM3PasswordHasher",
                                 "django.contrib.auth.hashers.MD5PasswordHasher"]
    encoded = make_password("Pass-word-2026")
    assert encoded.startswith("pbkdf2_sm3$200000$")
    assert check_password("Pass-word-2026", encoded) and not check_password("pass-word-2026", encoded)
    upgraded = []
    old = make_password("Pass-word-2026", hasher="md5")
    assert check_password("Pass-word-2026", old, setter=upgraded.append)
    assert upgraded == ["Pass-word-2026"]  # Django re-hashes with the 国密 hasher at the next login
