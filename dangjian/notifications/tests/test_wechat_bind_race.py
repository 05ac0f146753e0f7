"""Binding the same WeChat openid from two accounts at once: one wins, the other gets the Chinese refusal,
never a 500 (services.wechat_bind catches the unique constraint the check before it cannot see)."""

import threading

import pytest
from django.db import connection

from dangjian.audit.models import AuditEntry
from dangjian.core.errors import ValidationFailed
from dangjian.notifications import services
from dangjian.notifications.models import WechatBinding
from dangjian.testing import make_user

OPENID = "oTESTopenid0000000000000001"


def _rival_binds_first(monkeypatch, rival, openid=OPENID):
    """Another request binds the same openid after our check and before our insert: our check saw it free,
    and our update_or_create found no row and inserted (as under READ COMMITTED on PostgreSQL, where the
    other request's uncommitted row is invisible until our insert waits for it and fails)."""
    manager = WechatBinding.objects

    def check_sees_nothing():
        WechatBinding.objects.create(user=rival, openid=openid)  # the other request, committed meanwhile
        return manager.none()

    def insert_blindly(*, user, defaults):
        return manager.create(user=user, **defaults), True

    monkeypatch.setattr(manager, "select_for_update", check_sees_nothing)
    monkeypatch.setattr(manager, "update_or_create", insert_blindly)


def test_two_people_binding_the_same_openid_at_once_get_a_message_not_a_500(db, monkeypatch):
    me, rival = make_user("bind_me"), make_user("bind_rival")
    _rival_binds_first(monkeypatch, rival)
    with pytest.raises(ValidationFailed) as e:
        services.wechat_bind(actor=me, openid=OPENID)
    assert e.value.message.startswith("这个微信号已绑定其他账号")
    assert e.value.fields == {"openid": ["该微信号已绑定其他账号。"]}
    assert not WechatBinding.objects.filter(user=me).exists()  # nothing half-saved
    assert not AuditEntry.objects.filter(action="notifications.wechat.bound").exists()


def test_the_same_person_binding_twice_at_once_ends_bound_once(db, monkeypatch):
    """A double submit: the other request of the same person already bound this openid. Not an error."""
    me = make_user("bind_me")
    _rival_binds_first(monkeypatch, me)
    binding = services.wechat_bind(actor=me, openid=OPENID)
    assert (binding.user_id, binding.openid) == (me.pk, OPENID)
    assert WechatBinding.objects.filter(openid=OPENID).count() == 1


def test_the_same_person_binding_two_openids_at_once_is_asked_to_retry(db, monkeypatch):
    me = make_user("bind_me")
    _rival_binds_first(monkeypatch, me, openid="oTESTopenidOTHER")  # this person's other request, other openid
    with pytest.raises(ValidationFailed) as e:
        services.wechat_bind(actor=me, openid=OPENID)
    assert "请刷新页面后重试" in e.value.message and "openid" in e.value.fields
    assert not WechatBinding.objects.filter(openid=OPENID).exists()
    assert not AuditEntry.objects.filter(action="notifications.wechat.bound").exists()


def test_binding_an_openid_taken_by_someone_else_is_refused_and_rebinding_ones_own_works(db):
    me, other = make_user("bind_me"), make_user("bind_other")
    services.wechat_bind(actor=other, openid=OPENID)
    with pytest.raises(ValidationFailed) as e:
        services.wechat_bind(actor=me, openid=OPENID)
    assert "openid" in e.value.fields
    assert services.wechat_bind(actor=other, openid=OPENID).user_id == other.pk


@pytest.mark.skipif(connection.vendor != "postgresql",
                    reason="SQLite takes the write lock at BEGIN: the two binds cannot interleave there")
def test_two_people_binding_the_same_openid_in_parallel_transactions(transactional_db, monkeypatch):
    """The real race on PostgreSQL: both transactions pass the check, a barrier lines up their inserts, the
    second insert waits for the first commit and fails on the unique openid: a message, not a 500."""
    people = [make_user("bind_one"), make_user("bind_two")]
    barrier = threading.Barrier(2, timeout=20)
    manager = WechatBinding.objects
    real = manager.update_or_create

    def after_both_checked(**kwargs):
        barrier.wait()
        return real(**kwargs)

    monkeypatch.setattr(manager, "update_or_create", after_both_checked)
    outcomes: dict[str, object] = {}

    def bind(user):
        try:
            services.wechat_bind(actor=user, openid=OPENID)
            outcomes[user.username] = "bound"
        except Exception as exc:  # noqa: BLE001
            outcomes[user.username] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=bind, args=(u,)) for u in people]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(type(o).__name__ if o != "bound" else o for o in outcomes.values()) == ["ValidationFailed",
                                                                                          "bound"]
    refused = next(o for o in outcomes.values() if o != "bound")
    assert refused.fields == {"openid": ["该微信号已绑定其他账号。"]}
    assert WechatBinding.objects.filter(openid=OPENID).count() == 1
    assert AuditEntry.objects.filter(action="notifications.wechat.bound").count() == 1
