"""Login security (DOMAIN-RULES §7.1 身份鉴别, issue 9 item 1): one test or more per control.

Password complexity and history, expiry and first-login change, lockout per account and per address,
idle timeout, the TOTP second factor (enrolment, login, wrong and replayed codes, forced enrolment for
workers), the login rate limit, and the audit entry of every event. Time is moved by editing the stored
timestamps (sessions, lock counters, password dates), never by patching the clock.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import F
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from dangjian.accounts import totp
from dangjian.accounts.models import LoginThrottle, PasswordHistory, User
from dangjian.accounts.passwords import ComplexityValidator, character_classes
from dangjian.accounts.services import password_change, totp_reset, user_create, user_set_password
from dangjian.audit.models import AuditEntry
from dangjian.core import crypto
from dangjian.core.errors import Conflict, PermissionDenied, ValidationFailed
from dangjian.testing import PASSWORD

LOGIN = reverse("accounts:login")
CODE = reverse("accounts:login_code")
HOME = reverse("web:home")
LOCKED_TEXT = "登录失败次数过多，已暂时锁定"
WRONG_TEXT = "用户名或密码不正确"


def login(client, username, password, ip="10.0.0.1", **extra):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip, **extra)


def alert(response) -> str:
    """The refusal shown to the person, with the typed username taken out."""
    found = re.search(r'role="alert">(.*?)</p>', response.content.decode(), re.S)
    return found.group(1).strip() if found else ""


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def actions(**filters) -> list[str]:
    return list(AuditEntry.objects.filter(**filters).order_by("pk").values_list("action", flat=True))


def entries(action):
    return list(AuditEntry.objects.filter(action=action).order_by("pk"))


def fresh(user) -> User:
    return User.objects.get(pk=user.pk)


def secret_of(user) -> str:
    return crypto.decrypt(fresh(user).totp_secret)


def code(user, offset=0) -> str:
    return totp.code_at(secret_of(user), totp.step_at() + offset)


def unused_code(user) -> str:
    """A six-digit string that is none of the codes of the accepted window."""
    window = {code(user, k) for k in (-1, 0, 1)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in window)


# --- Complexity ------------------------------------------------------------------------------------------

# Every way to have fewer than three of the four classes (upper, lower, digit, symbol), each ≥ 8 long.
TOO_SIMPLE = {
    "upper": "QWERTYUIOP",
    "lower": "qwertyuiop",
    "digit": "2739184650",
    "symbol": "!@#$%^&*()",
    "upper+lower": "QwErTyUiOp",
    "upper+digit": "QWER5678TY",
    "upper+symbol": "QWER!@#$TY",
    "lower+digit": "qwer5678ty",
    "lower+symbol": "qwer!@#$ty",
    "digit+symbol": "1234!@#$56",
}
GOOD = {
    "upper+lower+digit": "QwerTy2739",
    "upper+lower+symbol": "QwerTy!@#$",
    "upper+digit+symbol": "QWER56!@#$",
    "lower+digit+symbol": "qwer56!@#$",
    "all four": "Qw3r!Ty9",
    "汉字 count as symbols": "党建Abcdefg",
}


@pytest.mark.parametrize("password", TOO_SIMPLE.values(), ids=TOO_SIMPLE.keys())
def test_fewer_than_three_classes_is_refused_in_chinese(password):
    with pytest.raises(ValidationError) as exc:
        ComplexityValidator().validate(password)
    assert [e.code for e in exc.value.error_list] == ["password_too_simple"]
    assert "须包含大写字母、小写字母、数字、符号中的至少 3 类" in exc.value.messages[0]
    with pytest.raises(ValidationError):
        validate_password(password)  # the configured validators include it


@pytest.mark.parametrize("password", GOOD.values(), ids=GOOD.keys())
def test_three_or_four_classes_of_eight_characters_pass(password):
    assert len(character_classes(password)) >= 3
    ComplexityValidator().validate(password)
    validate_password(password)


def test_shorter_than_eight_is_refused_even_with_four_classes():
    with pytest.raises(ValidationError) as exc:
        validate_password("Qw3r!Ty")
    assert "密码至少需要 8 个字符（现有 7 个）" in exc.value.messages


def test_the_administrator_cannot_create_an_account_with_a_simple_password(district):
    with pytest.raises(ValidationFailed) as exc:
        user_create(actor=district.users["system_admin"], username="simple", display_name="简单",
                    password="qwertyuiop")
    assert any("至少 3 类" in m for m in exc.value.fields["password"])
    assert not User.objects.filter(username="simple").exists()


# --- History ---------------------------------------------------------------------------------------------

def test_the_last_five_passwords_cannot_be_reused(district):
    user = district.users["member"]
    used = [PASSWORD] + [f"Round-{i}-pass" for i in range(1, 6)]
    for old, new in zip(used, used[1:], strict=False):
        password_change(actor=fresh(user), old_password=old, new_password=new)
    assert PasswordHistory.objects.filter(user=user).count() == 5  # only the last five hashes are kept
    current = used[-1]
    for recent in used[-5:]:  # the current one and the four before it
        with pytest.raises(ValidationFailed) as exc:
            password_change(actor=fresh(user), old_password=current, new_password=recent)
        assert exc.value.fields["new_password"] == ["新密码：不能使用最近 5 次用过的密码"]
    # the sixth-last (the original) has dropped out of the history
    password_change(actor=fresh(user), old_password=current, new_password=PASSWORD)
    assert fresh(user).check_password(PASSWORD)


def test_the_administrator_cannot_reset_to_a_recent_password_either(district):
    with pytest.raises(ValidationFailed) as exc:
        user_set_password(actor=district.users["system_admin"], user=district.users["branch_worker"], password=PASSWORD)
    assert "不能使用最近 5 次用过的密码" in exc.value.fields["password"][0]


def test_a_wrong_old_password_is_refused_and_audited(district):
    user = district.users["member"]
    with pytest.raises(ValidationFailed):
        password_change(actor=user, old_password="Wrong-pass-1", new_password="Brand-new-2026")
    assert fresh(user).check_password(PASSWORD)
    failed = entries("accounts.password.changed")
    assert [(e.success, e.actor_id) for e in failed] == [(False, user.pk)]


# --- First login and expiry ------------------------------------------------------------------------------

def test_first_login_after_an_administrator_set_the_password_forces_a_change(client, district):
    user = user_create(actor=district.users["system_admin"], username="newbie", display_name="新人",
                       password="Initial-pass-2026")
    assert user.must_change_password
    response = login(client, "newbie", "Initial-pass-2026")
    assert response.status_code == 302 and logged_in(client)
    # everything but the change page, logout and static files leads back to the change page
    for url in (HOME, reverse("members:list"), reverse("accounts:security")):
        assert client.get(url)["Location"] == reverse("accounts:password_change")
    page = client.get(reverse("accounts:password_change"))
    assert page.status_code == 200 and "首次登录请先修改密码" in page.content.decode()
    assert client.get("/static/web/site.css").status_code != 302
    # a session call to the API gets the error shape, not a redirect
    api = client.get("/api/v1/organizations")
    assert api.status_code == 403
    assert api.json()["code"] == "login_step_required" and api.json()["message"] and api.json()["fields"] == {}
    # a simple new password is refused on its field; a good one clears the demand
    response = client.post(reverse("accounts:password_change"), {
        "old_password": "Initial-pass-2026", "new_password": "simplepassword", "new_password_again": "simplepassword"})
    assert response.status_code == 200 and "至少 3 类" in response.content.decode()
    response = client.post(reverse("accounts:password_change"), {
        "old_password": "Initial-pass-2026", "new_password": "Own-choice-2026", "new_password_again": "Own-choice-2026"})
    assert response.status_code == 302
    assert not fresh(user).must_change_password
    assert logged_in(client), "changing the password keeps the session"
    # next in line: the privacy notice (policy.pending_step: password, then consent, then second factor)
    assert client.get(HOME)["Location"] == reverse("accounts:consent")
    client.post(reverse("accounts:consent"), {"decision": "accept", "sensitive": "1"})
    assert client.get(HOME).status_code == 200
    assert entries("accounts.password.changed")[-1].success


def test_an_administrator_reset_forces_a_change_again(client, district):
    worker = district.users["branch_worker"]
    user_set_password(actor=district.users["system_admin"], user=worker, password="Reset-by-admin-1")
    login(client, worker.username, "Reset-by-admin-1")
    assert client.get(HOME)["Location"] == reverse("accounts:password_change")


def test_an_expired_password_forces_a_change(client, district, settings):
    assert settings.DANGJIAN_PASSWORD_MAX_AGE_DAYS == 90
    worker = district.users["branch_worker"]
    User.objects.filter(pk=worker.pk).update(password_changed_at=timezone.now() - dt.timedelta(days=89))
    login(client, worker.username, PASSWORD)
    assert client.get(HOME).status_code == 200, "89 days old is still valid"
    User.objects.filter(pk=worker.pk).update(password_changed_at=timezone.now() - dt.timedelta(days=91))
    assert client.get(HOME)["Location"] == reverse("accounts:password_change")
    assert "已使用超过 90 天" in client.get(reverse("accounts:password_change")).content.decode()
    client.post(reverse("accounts:password_change"), {
        "old_password": PASSWORD, "new_password": "Fresh-pass-2026", "new_password_again": "Fresh-pass-2026"})
    assert client.get(HOME).status_code == 200
    assert timezone.now() - fresh(worker).password_changed_at < dt.timedelta(minutes=1)


def test_expiry_can_be_switched_off(client, district, settings):
    settings.DANGJIAN_PASSWORD_MAX_AGE_DAYS = 0
    worker = district.users["branch_worker"]
    User.objects.filter(pk=worker.pk).update(password_changed_at=timezone.now() - dt.timedelta(days=3650))
    login(client, worker.username, PASSWORD)
    assert client.get(HOME).status_code == 200


def test_an_api_token_is_not_sent_to_the_change_page(district):
    from dangjian.accounts.services import api_token_create

    worker = district.users["branch_worker"]
    _, plain = api_token_create(actor=worker, user=worker, name="报表")
    User.objects.filter(pk=worker.pk).update(must_change_password=True)
    response = Client(headers={"authorization": f"Bearer {plain}"}).get("/api/v1/organizations")
    assert response.status_code == 200


# --- Lockout ---------------------------------------------------------------------------------------------

def test_five_failures_lock_the_account_even_for_the_right_password(client, district):
    worker = district.users["branch_worker"]
    for i in range(4):  # from different addresses: this is the account's counter, not an address's
        response = login(client, worker.username, "Wrong-pass-1", ip=f"10.1.0.{i}")
        assert WRONG_TEXT in alert(response)
    fifth = login(client, worker.username, "Wrong-pass-1", ip="10.1.0.4")
    assert LOCKED_TEXT in alert(fifth) and "30 分钟" in alert(fifth)
    sixth = login(client, worker.username, PASSWORD, ip="10.1.0.5")
    assert LOCKED_TEXT in alert(sixth) and not logged_in(client)

    # an unknown account answers in exactly the same words, before and after its lock
    other = Client()
    assert alert(login(other, "no-such-user", "Wrong-pass-1", ip="10.2.0.0")) == alert(
        login(Client(), worker.username + "x", "Wrong-pass-1", ip="10.2.0.9"))
    for i in range(1, 5):
        login(other, "no-such-user", "Wrong-pass-1", ip=f"10.2.0.{i}")
    assert alert(login(other, "no-such-user", "Wrong-pass-1", ip="10.2.0.5")) == alert(sixth)

    # the lock lasts thirty minutes: moved back in time, it has run out
    LoginThrottle.objects.update(locked_until=F("locked_until") - dt.timedelta(minutes=29),
                                 window_started_at=F("window_started_at") - dt.timedelta(minutes=29))
    assert LOCKED_TEXT in alert(login(client, worker.username, PASSWORD, ip="10.1.0.6"))
    LoginThrottle.objects.update(locked_until=F("locked_until") - dt.timedelta(minutes=2),
                                 window_started_at=F("window_started_at") - dt.timedelta(minutes=2))
    response = login(client, worker.username, PASSWORD, ip="10.1.0.7")
    assert response.status_code == 302 and logged_in(client)


def test_the_lockout_is_audited_and_refused_attempts_are_not_counted(client, district):
    worker = district.users["branch_worker"]
    for i in range(5):
        login(client, worker.username, "Wrong-pass-1", ip=f"10.3.0.{i}")
    locked = entries("accounts.login.locked")
    assert len(locked) == 1 and not locked[0].success
    assert locked[0].changes["scope"] == "account" and locked[0].changes["username"] == worker.username
    assert locked[0].ip == "10.3.0.4"
    until = LoginThrottle.objects.get(scope="account", key=worker.username).locked_until
    login(client, worker.username, PASSWORD, ip="10.3.0.9")
    assert LoginThrottle.objects.get(scope="account", key=worker.username).locked_until == until, "not extended"
    failed = entries("accounts.login.failed")
    assert [e.changes["reason"] for e in failed] == ["password"] * 5 + ["locked"]
    assert all(not e.success and e.actor_id is None for e in failed)


def test_five_failures_from_one_address_lock_it_across_usernames(client, district):
    for name in ("alpha", "beta", "gamma", "delta"):
        assert WRONG_TEXT in alert(login(client, name, "Wrong-pass-1", ip="10.9.9.9"))
    assert LOCKED_TEXT in alert(login(client, "epsilon", "Wrong-pass-1", ip="10.9.9.9"))
    locked = entries("accounts.login.locked")
    assert [(e.changes["scope"], e.changes["key"]) for e in locked] == [("address", "10.9.9.9")]
    worker = district.users["branch_worker"]
    assert LOCKED_TEXT in alert(login(client, worker.username, PASSWORD, ip="10.9.9.9"))
    assert not logged_in(client)
    assert login(client, worker.username, PASSWORD, ip="10.9.9.8").status_code == 302, "another address is free"


def test_the_proxy_address_header_is_what_counts(client, district):
    """Behind nginx every request comes from the proxy: X-Real-IP names the caller (core.middleware)."""
    for i in range(5):
        login(client, f"user{i}", "Wrong-pass-1", ip="127.0.0.1", HTTP_X_REAL_IP="10.7.7.7")
    assert LoginThrottle.objects.filter(scope="address", key="10.7.7.7", locked_until__isnull=False).exists()
    assert not LoginThrottle.objects.filter(scope="address", key="127.0.0.1").exists()


def test_a_successful_login_clears_the_account_counter(client, district):
    worker = district.users["branch_worker"]
    for i in range(4):
        login(client, worker.username, "Wrong-pass-1", ip=f"10.4.0.{i}")
    assert LoginThrottle.objects.get(scope="account", key=worker.username).count == 4
    assert login(client, worker.username, PASSWORD, ip="10.4.1.0").status_code == 302
    assert not LoginThrottle.objects.filter(scope="account", key=worker.username).exists()
    client.post(reverse("accounts:logout"))
    for i in range(4):  # four more: eight in all, but never five since the success
        assert WRONG_TEXT in alert(login(client, worker.username, "Wrong-pass-1", ip=f"10.4.2.{i}"))
    assert login(client, worker.username, PASSWORD, ip="10.4.3.0").status_code == 302


def test_failures_older_than_the_window_do_not_add_up(client, district):
    worker = district.users["branch_worker"]
    for i in range(4):
        login(client, worker.username, "Wrong-pass-1", ip=f"10.5.0.{i}")
    LoginThrottle.objects.update(window_started_at=F("window_started_at") - dt.timedelta(minutes=31))
    assert WRONG_TEXT in alert(login(client, worker.username, "Wrong-pass-1", ip="10.5.0.9"))
    assert LoginThrottle.objects.get(scope="account", key=worker.username).count == 1


# --- Rate limit ------------------------------------------------------------------------------------------

def test_more_than_twenty_login_requests_a_minute_get_429(client, district, settings):
    settings.DANGJIAN_LOGIN_MAX_FAILURES = 1000  # only the rate limit is under test here
    for i in range(20):
        assert login(client, f"user{i}", "Wrong-pass-1", ip="10.6.0.1").status_code == 200
    refused = login(client, "user20", "Wrong-pass-1", ip="10.6.0.1")
    assert refused.status_code == 429 and refused["Retry-After"] == "60"
    assert "请求过于频繁" in refused.content.decode() and "每分钟最多 20 次" in refused.content.decode()
    assert login(client, "user21", "Wrong-pass-1", ip="10.6.0.1").status_code == 429
    assert login(client, "user0", "Wrong-pass-1", ip="10.6.0.2").status_code == 200, "another address is free"
    limited = entries("accounts.login.rate_limited")
    assert len(limited) == 1 and limited[0].changes["ip"] == "10.6.0.1", "audited once per window"
    # a minute later the window starts again
    LoginThrottle.objects.filter(scope="rate").update(window_started_at=F("window_started_at") - dt.timedelta(seconds=61))
    assert login(client, "user22", "Wrong-pass-1", ip="10.6.0.1").status_code == 200


# --- Idle timeout ----------------------------------------------------------------------------------------

def test_a_session_ends_after_thirty_idle_minutes(client, district, settings):
    assert settings.SESSION_COOKIE_AGE == 30 * 60
    login(client, district.users["branch_worker"].username, PASSWORD)
    key = client.session.session_key
    # activity restarts the thirty minutes (renewed at most once a minute: the last renewal is moved back)
    Session.objects.filter(pk=key).update(expire_date=timezone.now() + dt.timedelta(minutes=1))
    assert client.get(HOME).status_code == 200
    assert Session.objects.get(pk=key).expire_date < timezone.now() + dt.timedelta(minutes=2), "renewed too often"
    _move_renewal_back(client, seconds=61)
    Session.objects.filter(pk=key).update(expire_date=timezone.now() + dt.timedelta(minutes=1))
    assert client.get(HOME).status_code == 200
    assert Session.objects.get(pk=key).expire_date > timezone.now() + dt.timedelta(minutes=29)
    # thirty idle minutes later the session is gone
    Session.objects.filter(pk=key).update(expire_date=timezone.now() - dt.timedelta(seconds=1))
    response = client.get(HOME)
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)


def _move_renewal_back(client, *, seconds: int) -> None:
    session = client.session
    session["_renewed_at"] -= seconds
    session.save()


# --- Second factor (TOTP) --------------------------------------------------------------------------------

@pytest.mark.parametrize("unix_time, expected", [
    (59, "94287082"), (1111111109, "07081804"), (1111111111, "14050471"), (1234567890, "89005924"),
    (2000000000, "69279037"), (20000000000, "65353130"),
])
def test_totp_matches_the_rfc_6238_sha1_vectors(unix_time, expected):
    secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  # base32 of "12345678901234567890"
    assert totp.code_at(secret, totp.step_at(unix_time), digits=8) == expected
    assert totp.code_at(secret, totp.step_at(unix_time)) == expected[-6:]


def test_totp_accepts_one_step_either_way_and_nothing_used(settings):
    secret = totp.new_secret()
    now = 1_800_000_000.0
    step = totp.step_at(now)
    for offset in (-1, 0, 1):
        assert totp.matching_step(secret, totp.code_at(secret, step + offset), now=now) == step + offset
    for offset in (-2, 2):
        assert totp.matching_step(secret, totp.code_at(secret, step + offset), now=now) is None
    assert totp.matching_step(secret, totp.code_at(secret, step), now=now, after=step) is None
    assert totp.matching_step(secret, "12345", now=now) is None
    assert totp.matching_step(secret, "１２３４５６", now=now) is None  # full-width digits are not digits here


def test_the_otpauth_uri_names_account_issuer_and_parameters():
    uri = totp.provisioning_uri("JBSWY3DPEHPK3PXP", account="worker_a1", issuer="示范区智慧党建")
    assert uri.startswith("otpauth://totp/%E7%A4%BA")
    assert "secret=JBSWY3DPEHPK3PXP" in uri and "algorithm=SHA1" in uri and "digits=6" in uri and "period=30" in uri


def enrol(client, user):
    """Open the enrolment page (which makes the secret) and confirm it with the current code."""
    page = client.get(reverse("accounts:totp_enrol"))
    assert page.status_code == 200
    response = client.post(reverse("accounts:totp_enrol"), {"code": code(user)})
    assert response.status_code == 302, response.content.decode()
    return page


def test_enrolment_then_a_two_step_login(client, district, settings):
    settings.DANGJIAN_REQUIRE_TOTP_FOR_STAFF = True
    worker = district.users["branch_worker"]
    login(client, worker.username, PASSWORD)
    page = enrol(client, worker).content.decode()
    secret = secret_of(worker)
    assert totp.grouped(secret) in page and "otpauth://totp/" in page and f"secret={secret}" in page
    assert secret not in fresh(worker).totp_secret, "stored encrypted"
    assert fresh(worker).totp_enabled
    assert client.get(HOME).status_code == 200
    client.post(reverse("accounts:logout"))

    response = login(client, worker.username, PASSWORD)
    assert response["Location"] == CODE and not logged_in(client), "the password alone does not log in"
    assert client.get(HOME)["Location"].startswith(LOGIN)
    assert "输入验证码" in client.get(CODE).content.decode()
    response = client.post(CODE, {"code": code(worker, 1)})  # the enrolment used this step's code
    assert response.status_code == 302 and response["Location"] == HOME and logged_in(client)
    success = entries("accounts.login.succeeded")[-1]
    assert success.changes == {"factor": "totp"} and success.actor_id == worker.pk
    assert actions(action__startswith="accounts.totp") == ["accounts.totp.enrolled"]


def test_the_code_step_keeps_the_next_page(client, district):
    member = district.users["member"]
    login(client, member.username, PASSWORD)
    enrol(client, member)
    client.post(reverse("accounts:logout"))
    client.post(LOGIN, {"username": member.username, "password": PASSWORD, "next": reverse("members:me")})
    assert client.post(CODE, {"code": code(member, 1)})["Location"] == reverse("members:me")


def test_a_wrong_code_is_refused_and_five_lock_the_account(client, district):
    member = district.users["member"]
    login(client, member.username, PASSWORD)
    enrol(client, member)
    client.post(reverse("accounts:logout"))
    login(client, member.username, PASSWORD, ip="10.8.0.1")
    wrong = unused_code(member)
    response = client.post(CODE, {"code": wrong}, REMOTE_ADDR="10.8.0.1")
    assert response.status_code == 200 and "验证码不正确" in response.content.decode() and not logged_in(client)
    assert entries("accounts.login.failed")[-1].changes == {"username": member.username, "reason": "totp"}
    for _ in range(4):
        response = client.post(CODE, {"code": wrong}, REMOTE_ADDR="10.8.0.1")
    assert LOCKED_TEXT in alert(response)
    # the right code no longer helps: the password step has been dropped and the account is locked
    assert client.post(CODE, {"code": code(member, 1)}, REMOTE_ADDR="10.8.0.2")["Location"] == LOGIN
    assert LOCKED_TEXT in alert(login(client, member.username, PASSWORD, ip="10.8.0.3"))
    assert not logged_in(client)


def test_a_code_cannot_be_replayed(client, district):
    member = district.users["member"]
    login(client, member.username, PASSWORD)
    enrol(client, member)
    client.post(reverse("accounts:logout"))
    used = code(member, 1)
    login(client, member.username, PASSWORD)
    assert client.post(CODE, {"code": used}).status_code == 302
    client.post(reverse("accounts:logout"))
    login(client, member.username, PASSWORD)
    response = client.post(CODE, {"code": used})
    assert response.status_code == 200 and not logged_in(client)
    assert entries("accounts.login.failed")[-1].changes["reason"] == "totp_replayed"
    # nor can the enrolment code, nor an older code of the window
    assert client.post(CODE, {"code": code(member, 0)}).status_code == 200 and not logged_in(client)


def test_the_code_page_needs_a_fresh_password_step(client, district):
    member = district.users["member"]
    login(client, member.username, PASSWORD)
    enrol(client, member)
    client.post(reverse("accounts:logout"))
    assert client.get(CODE)["Location"] == LOGIN  # no password step at all
    login(client, member.username, PASSWORD)
    session = client.session
    session["dangjian_login_pending"]["at"] -= 301
    session.save()
    assert client.post(CODE, {"code": code(member, 1)})["Location"] == LOGIN
    assert not logged_in(client)


def test_a_worker_without_a_second_factor_must_enrol_first(client, district, settings):
    settings.DANGJIAN_REQUIRE_TOTP_FOR_STAFF = True
    worker = district.users["branch_worker"]
    response = login(client, worker.username, PASSWORD)
    assert response.status_code == 302 and logged_in(client)
    assert entries("accounts.login.succeeded")[-1].changes == {"factor": "password", "totp": "须先绑定"}
    for url in (HOME, reverse("members:list"), reverse("accounts:password_change")):
        assert client.get(url)["Location"] == reverse("accounts:totp_enrol")
    api = client.get("/api/v1/members")
    assert api.status_code == 403 and api.json()["code"] == "login_step_required"
    assert client.get(reverse("accounts:totp_enrol")).status_code == 200
    assert client.post(reverse("accounts:totp_enrol"), {"code": unused_code(worker)}).status_code == 200
    assert not fresh(worker).totp_enabled, "a wrong confirmation code binds nothing"
    client.post(reverse("accounts:totp_enrol"), {"code": code(worker)})
    assert client.get(HOME).status_code == 200


@pytest.mark.parametrize("role", ["district_admin", "committee_admin", "system_admin", "security_admin", "audit_admin"])
def test_every_administrator_and_worker_role_needs_the_second_factor(client, district, settings, role):
    settings.DANGJIAN_REQUIRE_TOTP_FOR_STAFF = True
    login(client, district.users[role].username, PASSWORD)
    assert client.get(HOME)["Location"] == reverse("accounts:totp_enrol")


def test_a_member_is_not_forced_but_may_enrol(client, district, settings):
    settings.DANGJIAN_REQUIRE_TOTP_FOR_STAFF = True
    member = district.users["member"]
    login(client, member.username, PASSWORD)
    assert client.get(reverse("members:me")).status_code == 200
    assert "绑定认证器" in client.get(reverse("accounts:security")).content.decode()


def test_the_setting_off_lets_workers_in_without_a_second_factor(client, district, settings):
    settings.DANGJIAN_REQUIRE_TOTP_FOR_STAFF = False
    login(client, district.users["branch_worker"].username, PASSWORD)
    assert client.get(HOME).status_code == 200


def test_the_security_admin_resets_a_second_factor(client, district, settings):
    settings.DANGJIAN_REQUIRE_TOTP_FOR_STAFF = True
    worker, secadmin = district.users["branch_worker"], district.users["security_admin"]
    login(client, worker.username, PASSWORD)
    enrol(client, worker)
    for role in ("system_admin", "audit_admin", "district_admin", "member"):
        with pytest.raises(PermissionDenied):
            totp_reset(actor=district.users[role], user=fresh(worker))
    with pytest.raises(Conflict):
        totp_reset(actor=secadmin, user=secadmin)
    assert fresh(worker).totp_enabled

    admin = Client()
    admin.force_login(secadmin)
    User.objects.filter(pk=secadmin.pk).update(totp_secret=crypto.encrypt(totp.new_secret()),
                                               totp_confirmed_at=timezone.now())
    response = admin.post(reverse("accounts:totp_reset"), {"username": worker.username})
    assert response["Location"] == reverse("accounts:grants")
    assert not fresh(worker).totp_enabled and fresh(worker).totp_secret == ""
    reset = entries("accounts.totp.reset")
    assert [(e.actor_id, e.target_id, e.changes) for e in reset] == [(secadmin.pk, str(worker.pk), {"enabled_before": True})]
    # the worker binds again at the next request
    assert client.get(HOME)["Location"] == reverse("accounts:totp_enrol")


def test_totp_code_command_works_only_with_debug_and_is_audited(client, district, settings, capsys):
    member = district.users["member"]
    with pytest.raises(CommandError, match="DJANGO_DEBUG"):
        call_command("totp_code", member.username)
    settings.DEBUG = True
    with pytest.raises(CommandError, match="还没有双因素认证密钥"):
        call_command("totp_code", member.username)
    with pytest.raises(CommandError, match="没有用户名"):
        call_command("totp_code", "nobody-here")
    login(client, member.username, PASSWORD)
    client.get(reverse("accounts:totp_enrol"))
    call_command("totp_code", member.username)
    shown = re.search(r"验证码：(\d{6})", capsys.readouterr().out).group(1)
    assert client.post(reverse("accounts:totp_enrol"), {"code": shown}).status_code == 302
    # the enrolment used this step: the command now gives the next code, which is accepted at once
    client.post(reverse("accounts:logout"))
    call_command("totp_code", member.username)
    shown = re.search(r"验证码：(\d{6})", capsys.readouterr().out).group(1)
    login(client, member.username, PASSWORD)
    assert client.post(CODE, {"code": shown}).status_code == 302 and logged_in(client)
    shown_entries = entries("accounts.totp.code_shown")
    assert len(shown_entries) == 2 and shown_entries[0].source == "command"


# --- Audit of every event --------------------------------------------------------------------------------

def test_every_login_security_event_is_audited(client, district, settings):
    settings.DANGJIAN_REQUIRE_TOTP_FOR_STAFF = True
    settings.DANGJIAN_LOGIN_RATE_PER_MINUTE = 8
    worker = district.users["branch_worker"]
    before = AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first()
    login(client, worker.username, "Wrong-pass-1", ip="10.0.1.1")                    # failed
    login(client, worker.username, PASSWORD, ip="10.0.1.1")                          # succeeded
    enrol(client, worker)                                                            # totp enrolled
    client.post(reverse("accounts:password_change"), {                               # password changed
        "old_password": PASSWORD, "new_password": "Changed-pass-1", "new_password_again": "Changed-pass-1"})
    client.post(reverse("accounts:logout"))                                          # logout
    for _ in range(5):
        login(client, worker.username, "Wrong-pass-1", ip="10.0.1.2")                # 5 failed → locked
    for _ in range(7):
        login(client, "x", "y", ip="10.0.1.1")                                       # 9 requests → rate limited
    totp_reset(actor=district.users["security_admin"], user=fresh(worker))           # totp reset
    got = set(AuditEntry.objects.filter(pk__gt=before).values_list("action", flat=True))
    assert got == {
        "accounts.login.failed", "accounts.login.succeeded", "accounts.totp.enrolled", "accounts.password.changed",
        "accounts.logout", "accounts.login.locked", "accounts.login.rate_limited", "accounts.totp.reset",
    }
