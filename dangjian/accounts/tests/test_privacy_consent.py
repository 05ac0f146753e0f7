"""The privacy notice and recorded consent (个人信息保护法 第十四、十七、二十九条; issue 9 item 4): the public
notice, the consent step at first login and after a new version, its order among the login steps, its
answer to API calls, accepting (record, version, address, audit), declining and withdrawing (logged out)."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from dangjian.accounts import policy
from dangjian.accounts.models import ConsentRecord, User
from dangjian.accounts.services import api_token_create, consent_accept
from dangjian.audit.models import AppendOnlyError, AuditEntry
from dangjian.testing import PASSWORD, make_user

CONSENT = reverse("accounts:consent")
HOME = reverse("web:home")
LOGIN = reverse("accounts:login")
PRIVACY = reverse("web:privacy")
ACCEPT = {"decision": "accept", "sensitive": "1"}


def fresh(user) -> User:
    return User.objects.get(pk=user.pk)


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def entries(action) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action).order_by("pk"))


@pytest.fixture
def newcomer(district):
    """A member's account that has never agreed to the notice (as every account after the upgrade)."""
    return make_user("newcomer", privacy_notice_version="")


def signed_in(user, **extra) -> Client:
    client = Client(**extra)
    assert client.login(username=user.username, password=PASSWORD)
    return client


# --- The public notice ---------------------------------------------------------------------------------------

def test_the_notice_is_public_and_states_who_what_why_how_long_and_the_version(db, settings):
    settings.DANGJIAN_PRIVACY_NOTICE_VERSION = "2026-12"
    settings.DANGJIAN_DISTRICT_NAME = "示范区"
    settings.DANGJIAN_APPLICANT_RETENTION_DAYS = 1095
    settings.DANGJIAN_AUDIT_ONLINE_MONTHS = 12
    page = Client().get(PRIVACY)
    assert page.status_code == 200
    text = page.content.decode()
    assert "版本：<strong>2026-12</strong>" in text
    assert "中共示范区委组织部" in text  # who processes (第十七条)
    for must in ("为什么要处理", "处理哪些信息", "身份证号", "特定身份", "单独同意", "加密保存", "默认遮挡",
                 "每一次查看都记录在审计日志中", "保存多久", "<strong>3 年</strong>", "<strong>12 个月</strong>",
                 "查阅、复制", "下载我的个人信息", "更正", "撤回同意", "联系我们"):
        assert must in text, must
    assert not re.search(r"<script(?![^>]*\bsrc=)", text), "no inline script (the CSP forbids it)"
    assert "http://" not in text.replace("http://testserver", "") and "https://" not in text, "no outside asset"


def test_the_notice_shows_the_contact_when_one_is_set(db, settings):
    settings.DANGJIAN_PRIVACY_CONTACT = "电话 0000-12345678（工作日）"
    assert "中共示范区委组织部：电话 0000-12345678（工作日）。" in Client().get(PRIVACY).content.decode()


def test_the_login_page_and_every_footer_link_the_notice(client, district):
    assert f'href="{PRIVACY}"' in client.get(LOGIN).content.decode()
    page = signed_in(district.users["branch_worker"]).get(HOME).content.decode()
    assert re.search(rf'<footer class="site-footer"><a href="{PRIVACY}">', page)


# --- The consent step ----------------------------------------------------------------------------------------

def test_a_new_user_is_kept_on_the_consent_page(newcomer):
    client = signed_in(newcomer)
    for url in (HOME, reverse("web:centre"), reverse("accounts:security"), reverse("web:centre_data"), PRIVACY):
        assert client.get(url)["Location"] == CONSENT, url
    page = client.get(CONSENT)
    assert page.status_code == 200
    text = page.content.decode()
    assert "请阅读并同意《个人信息保护政策》" in text and "同意并继续" in text and "不同意" in text
    assert 'name="sensitive"' in text, "the separate consent for sensitive data (第二十九条) is its own tick"
    assert "中共示范区委组织部" in text, "the page shows the notice itself"
    assert client.post(reverse("accounts:logout")).status_code == 302, "logout still answers"


def test_a_session_api_call_gets_the_error_shape_and_a_token_is_not_concerned(newcomer, district):
    api = signed_in(newcomer).get("/api/v1/organizations")
    assert api.status_code == 403
    body = api.json()
    assert body["code"] == "login_step_required" and body["fields"] == {}
    assert "个人信息保护政策" in body["message"] and "网页" in body["message"]
    # a token is the client's credential (LoginPolicyMiddleware): the worker's reporting tool keeps working
    worker = district.users["branch_worker"]
    _, plain = api_token_create(actor=worker, user=worker, name="报表")
    User.objects.filter(pk=worker.pk).update(privacy_notice_version="")
    assert Client(headers={"authorization": f"Bearer {plain}"}).get("/api/v1/organizations").status_code == 200


def test_accepting_records_version_address_and_audit_and_lets_the_person_through(newcomer, settings):
    settings.DANGJIAN_PRIVACY_NOTICE_VERSION = "2026-12"
    client = signed_in(newcomer, REMOTE_ADDR="127.0.0.1")
    response = client.post(CONSENT, ACCEPT, HTTP_X_REAL_IP="10.20.30.40")
    assert response.status_code == 302 and response["Location"] == HOME
    record = ConsentRecord.objects.get(user=newcomer)
    assert (record.notice_version, record.ip) == ("2026-12", "10.20.30.40")
    assert fresh(newcomer).privacy_notice_version == "2026-12"
    [entry] = entries("accounts.consent.accepted")
    assert (entry.actor_id, entry.target_id, entry.changes, entry.ip) == (
        newcomer.pk, str(newcomer.pk), {"version": "2026-12"}, "10.20.30.40")
    assert client.get(reverse("accounts:security")).status_code == 200
    assert "您已于" in client.get(reverse("accounts:security")).content.decode()
    assert client.get(CONSENT)["Location"] == PRIVACY, "nothing more to agree to"


def test_agreeing_without_the_separate_tick_is_refused_and_saves_nothing(newcomer):
    client = signed_in(newcomer)
    for data in ({"decision": "accept"}, {"decision": "accept", "sensitive": "yes"}):
        response = client.post(CONSENT, data)
        assert response.status_code == 400
        assert "敏感个人信息：请先勾选" in response.content.decode()
    response = client.post(CONSENT, {"decision": "maybe", "sensitive": "1"})
    assert response.status_code == 400 and "请选择“同意并继续”或“不同意”" in response.content.decode()
    assert not ConsentRecord.objects.exists() and fresh(newcomer).privacy_notice_version == ""
    assert not entries("accounts.consent.accepted")
    assert client.get(HOME)["Location"] == CONSENT


def test_declining_logs_out_with_a_clear_message_and_is_audited(newcomer):
    client = signed_in(newcomer)
    response = client.post(CONSENT, {"decision": "decline"})
    assert response.status_code == 302 and response["Location"] == LOGIN
    assert not logged_in(client)
    page = client.get(LOGIN).content.decode()
    assert "您没有同意《个人信息保护政策》，已退出登录。不同意就无法使用本平台" in page
    [entry] = entries("accounts.consent.declined")
    assert entry.actor_id == newcomer.pk and entry.success
    assert not ConsentRecord.objects.exists() and fresh(newcomer).privacy_notice_version == ""
    # the next login asks again
    assert signed_in(newcomer).get(HOME)["Location"] == CONSENT


def test_a_new_notice_version_asks_everyone_again(district, settings):
    member = district.users["member"]
    client = signed_in(member)
    assert client.get(reverse("web:centre")).status_code == 200
    settings.DANGJIAN_PRIVACY_NOTICE_VERSION = "2027-06"
    assert client.get(reverse("web:centre"))["Location"] == CONSENT
    page = client.get(CONSENT).content.decode()
    assert "已更新（现为 2027-06 版）" in page
    client.post(CONSENT, ACCEPT)
    assert fresh(member).privacy_notice_version == "2027-06"
    assert client.get(reverse("web:centre")).status_code == 200
    assert list(ConsentRecord.objects.filter(user=member).values_list("notice_version", flat=True)) == ["2027-06"]


def test_withdrawing_logs_out_keeps_the_records_and_asks_again_at_the_next_login(district):
    member = district.users["member"]
    client = signed_in(member)
    client.post(CONSENT, ACCEPT)  # agreed already (the fixture): nothing recorded twice
    consent_accept(actor=fresh(member), ip="10.0.0.9")
    response = client.post(reverse("accounts:consent_withdraw"))
    assert response["Location"] == LOGIN and not logged_in(client)
    assert "您已撤回对《个人信息保护政策》的同意" in client.get(LOGIN).content.decode()
    assert fresh(member).privacy_notice_version == ""
    assert ConsentRecord.objects.filter(user=member).count() == 1, "the proof of past consent stays"
    [entry] = entries("accounts.consent.withdrawn")
    assert entry.actor_id == member.pk and entry.changes["version"]
    assert signed_in(member).get(HOME)["Location"] == CONSENT


def test_consent_records_are_append_only(newcomer):
    record = consent_accept(actor=newcomer, ip="10.0.0.1")
    record.ip = "10.9.9.9"
    with pytest.raises(AppendOnlyError):
        record.save()
    with pytest.raises(AppendOnlyError):
        record.delete()
    with pytest.raises(AppendOnlyError):
        ConsentRecord.objects.filter(pk=record.pk).update(ip="x")
    with pytest.raises(AppendOnlyError):
        ConsentRecord.objects.filter(pk=record.pk).delete()
    assert ConsentRecord.objects.get(pk=record.pk).ip == "10.0.0.1"


# --- Order of the login steps --------------------------------------------------------------------------------

def test_password_change_comes_before_consent(newcomer):
    User.objects.filter(pk=newcomer.pk).update(must_change_password=True)
    client = signed_in(newcomer)
    assert client.get(HOME)["Location"] == reverse("accounts:password_change")
    assert client.get(CONSENT)["Location"] == reverse("accounts:password_change"), "no consent through a known password"
    client.post(reverse("accounts:password_change"), {
        "old_password": PASSWORD, "new_password": "Own-choice-2026", "new_password_again": "Own-choice-2026"})
    assert client.get(HOME)["Location"] == CONSENT


def test_consent_comes_before_the_second_factor(district, settings):
    settings.DANGJIAN_REQUIRE_TOTP_FOR_STAFF = True
    worker = district.users["branch_worker"]
    User.objects.filter(pk=worker.pk).update(privacy_notice_version="")
    client = signed_in(worker)
    assert client.get(HOME)["Location"] == CONSENT
    assert client.get(reverse("accounts:totp_enrol"))["Location"] == CONSENT
    client.post(CONSENT, ACCEPT)
    assert client.get(HOME)["Location"] == reverse("accounts:totp_enrol")


def test_checking_consent_costs_no_query(newcomer, django_assert_num_queries, settings):
    user = fresh(newcomer)
    with django_assert_num_queries(0):
        assert policy.consent_needed(user)
        user.privacy_notice_version = settings.DANGJIAN_PRIVACY_NOTICE_VERSION
        assert not policy.consent_needed(user)


def test_accounts_made_by_an_administrator_or_the_demo_have_not_agreed(district):
    """Only the person can agree: a new account (user_create, seed_demo's create_user) starts without a
    version, so its first login shows the notice."""
    from dangjian.accounts.services import user_create

    made = user_create(actor=district.users["system_admin"], username="fresh", display_name="新人",
                       password="Initial-pass-2026")
    demo_like = User.objects.create_user(username="dangyuan_demo", password=PASSWORD)
    assert policy.consent_needed(made) and policy.consent_needed(demo_like)
    assert policy.pending_step(demo_like) == policy.PRIVACY_CONSENT
    assert policy.pending_step(made) == policy.PASSWORD_INITIAL, "the password change still comes first"
