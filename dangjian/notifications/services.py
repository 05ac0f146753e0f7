"""Writing notifications, replies, templates and a person's push settings.

Every module sends through `notification_create`, inside its own transaction: the inbox items commit with the
module's change or not at all, and the pushes start after the commit (`transaction.on_commit`), so a
rolled-back change never reaches anybody's phone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from dangjian.audit import registry
from dangjian.audit.services import log_action
from dangjian.core.errors import PermissionDenied, ValidationFailed
from dangjian.core.masking import mask_openid
from dangjian.core.permissions import require, require_somewhere

from . import kinds, notices
from .models import GreetingMessage, MessageTemplate, Notification, PushPreference, Reply, WechatBinding
from .selectors import workers_of

registry.register({
    "notifications.template.updated": "修改消息模板",
    "notifications.greeting.updated": "设置政治生日寄语",
    "notifications.reply.created": "党员留言",
    "notifications.preference.updated": "修改推送设置",
    "notifications.wechat.bound": "绑定微信",
    "notifications.wechat.unbound": "解除微信绑定",
    "notifications.political_birthday.pushed": "推送政治生日祝福",
    "notifications.term_ending.reminded": "发送换届提醒",
})

CHUNK = 1000


@dataclass
class Message:
    """One notification to create. Give `member` for a member (their linked account is added), or `user` and
    `org_path` (the organisation the message is about) for a worker."""

    kind: str
    context: dict
    member: object | None = None
    user: object | None = None
    org_path: str | None = None
    link: str = ""
    dedupe_key: str | None = None
    urgent: bool | None = None  # None: the kind's default


def notification_create(*, actor, messages: Iterable[Message]) -> int:
    """Create inbox items (skipping any whose dedupe key exists) and schedule their pushes after commit.
    Returns how many were new. `actor` is who caused them (a worker, or the system for jobs)."""
    wordings = _wordings()
    created = 0
    with transaction.atomic():
        batch: list[Notification] = []
        for message in messages:
            batch.append(_build(message, wordings))
            if len(batch) >= CHUNK:
                created += _insert(batch)
                batch = []
        created += _insert(batch)
        if created:
            transaction.on_commit(_push_soon)
    return created


def _wordings() -> dict[str, tuple[str, str]]:
    stored = {t.kind: (t.title, t.body) for t in MessageTemplate.objects.all()}
    return {k.code: stored.get(k.code, (k.title, k.body)) for k in kinds.all_kinds()}


def _build(message: Message, wordings) -> Notification:
    kind = kinds.get(message.kind)
    title, body = wordings[kind.code]
    member, user = message.member, message.user
    if member is not None:
        user_id, member_id, org_path = member.user_id, member.pk, message.org_path or member.org_path
    elif user is not None:
        if not message.org_path:
            raise ValueError("a message to a worker needs the org_path it is about")
        user_id, member_id, org_path = user.pk, None, message.org_path
    else:
        raise ValueError("a message needs a member or a user")
    return Notification(
        kind=kind.code,
        member_id=member_id,
        user_id=user_id,
        org_path=org_path,
        title=kinds.render(title, message.context)[:200],
        body=kinds.render(body, message.context),
        link=message.link,
        urgent=kind.urgent if message.urgent is None else message.urgent,
        dedupe_key=message.dedupe_key,
    )


def _insert(batch: list[Notification]) -> int:
    """Insert, leaving out keys already sent. The lookup makes the count exact; `ignore_conflicts` covers a
    second run racing this one between the lookup and the insert."""
    if not batch:
        return 0
    keys = [n.dedupe_key for n in batch if n.dedupe_key]
    seen = set(Notification.unscoped.filter(dedupe_key__in=keys).values_list("dedupe_key", flat=True)) if keys else set()
    fresh, in_batch = [], set()
    for n in batch:
        if n.dedupe_key and (n.dedupe_key in seen or n.dedupe_key in in_batch):
            continue
        in_batch.add(n.dedupe_key)
        fresh.append(n)
    Notification.unscoped.bulk_create(fresh, ignore_conflicts=True)
    return len(fresh)


def _push_soon() -> None:
    from .tasks import push_pending  # the task module imports this one

    push_pending()


# --- The inbox -----------------------------------------------------------------------------------------

def notification_read(*, actor, notification: Notification) -> None:
    """Mark one's own message read. Not audited: it changes no party record, only the reader's own inbox
    (the audit log would grow by every tap of every member)."""
    _require_recipient(actor, notification)
    if notification.read_at is None:
        Notification.unscoped.filter(pk=notification.pk, read_at__isnull=True).update(read_at=timezone.now())
        notification.read_at = timezone.now()


def notifications_read_all(*, actor) -> int:
    from .selectors import inbox

    return inbox(actor).filter(read_at__isnull=True).update(read_at=timezone.now())


def _require_recipient(actor, notification: Notification) -> None:
    member_id = getattr(getattr(actor, "member", None), "pk", None) if _has_member(actor) else None
    if notification.user_id != actor.pk and (member_id is None or notification.member_id != member_id):
        raise PermissionDenied("只能处理发给自己的消息。")


def _has_member(user) -> bool:
    return getattr(user, "member_or_none", None) is not None


# --- Replies (留言) --------------------------------------------------------------------------------------

def reply_create(*, actor, notification: Notification, body: str) -> Reply:
    """A member answers a message; the words reach the workers of the member's organisation."""
    _require_recipient(actor, notification)
    kind = kinds.get(notification.kind)
    if not kind.replies or notification.member_id is None:
        raise ValidationFailed("这条消息不能回复。", fields={"body": ["这条消息不接受留言。"]})
    text = (body or "").strip()
    limit = settings.DANGJIAN_REPLY_MAX_LENGTH
    if not text:
        raise ValidationFailed("请填写留言内容。", fields={"body": ["留言不能为空。"]})
    if len(text) > limit:
        raise ValidationFailed("留言太长。", fields={"body": [f"留言不能超过 {limit} 个字（现有 {len(text)} 个）。"]})
    member = actor.member
    with transaction.atomic():
        reply = Reply.unscoped.create(notification=notification, member=member, org_path=member.org_path,
                                      kind=notification.kind, body=text)
        org = member.organization
        notification_create(actor=actor, messages=[
            Message(kind=notices.REPLY_RECEIVED.code, user=worker, org_path=member.org_path,
                    context={"姓名": member.name, "党组织": org.name, "原消息": notification.title, "留言": text},
                    link=f"/notifications/replies/{reply.pk}/", dedupe_key=f"reply:{reply.pk}:{worker.pk}")
            for worker in workers_of(org)
        ])
        log_action(actor=actor, action="notifications.reply.created", target=reply,
                   changes={"notification": notification.pk, "length": len(text)})
    return reply


# --- Wording ----------------------------------------------------------------------------------------------

def template_update(*, actor, kind_code: str, title: str, body: str) -> MessageTemplate:
    """Reword a kind of message for the whole district. Unknown variables are refused here, not at sending."""
    require_somewhere(actor, "notification.template")
    kind = kinds.get(kind_code)
    kinds.check_template(kind, title=title, body=body)
    with transaction.atomic():
        template = MessageTemplate.objects.select_for_update().filter(kind=kind.code).first()
        old = (template.title, template.body) if template else (kind.title, kind.body)
        if template is None:
            template = MessageTemplate(kind=kind.code)
        template.title, template.body = title.strip(), body.strip()
        template.updated_by, template.updated_at = actor, timezone.now()
        template.save()
        log_action(actor=actor, action="notifications.template.updated", target=template,
                   changes={"title": [old[0], template.title], "body": [old[1], template.body]})
    return template


def template_reset(*, actor, kind_code: str) -> None:
    """Back to the default wording."""
    require_somewhere(actor, "notification.template")
    kind = kinds.get(kind_code)
    with transaction.atomic():
        template = MessageTemplate.objects.select_for_update().filter(kind=kind.code).first()
        if template is not None:
            log_action(actor=actor, action="notifications.template.updated", target=template,
                       changes={"title": [template.title, kind.title], "body": [template.body, kind.body]})
            template.delete()


def greeting_message_set(*, actor, organization, message: str) -> GreetingMessage | None:
    """政治生日寄语 of one organisation; empty clears it (the nearest one above applies again)."""
    require(actor, "notification.greeting", organization)
    text = (message or "").strip()
    if len(text) > 200:
        raise ValidationFailed("寄语太长。", fields={"message": [f"寄语不能超过 200 个字（现有 {len(text)} 个）。"]})
    with transaction.atomic():
        current = GreetingMessage.objects.select_for_update().filter(organization=organization).first()
        old = current.message if current else ""
        if not text:
            if current is not None:
                current.delete()
            result = None
        else:
            result = current or GreetingMessage(organization=organization, org_path=organization.path)
            result.message, result.updated_by, result.updated_at = text, actor, timezone.now()
            result.save()
        log_action(actor=actor, action="notifications.greeting.updated", target=organization,
                   changes={"message": [old, text]})
    return result


# --- A person's settings ---------------------------------------------------------------------------------

def preference_update(*, actor, email: bool, sms: bool, wechat: bool, large_font: bool) -> PushPreference:
    """Which channels reach me, and the large-font mode (适老化). The inbox is always on."""
    with transaction.atomic():
        pref, _ = PushPreference.objects.select_for_update().get_or_create(user=actor)
        old = {"email": pref.email, "sms": pref.sms, "wechat": pref.wechat, "large_font": actor.large_font}
        pref.email, pref.sms, pref.wechat, pref.updated_at = email, sms, wechat, timezone.now()
        pref.save()
        get_user_model().objects.filter(pk=actor.pk).update(large_font=large_font)
        actor.large_font = large_font
        new = {"email": email, "sms": sms, "wechat": wechat, "large_font": large_font}
        log_action(actor=actor, action="notifications.preference.updated", target=actor,
                   changes={k: [old[k], new[k]] for k in new if old[k] != new[k]})
    return pref


def wechat_bind(*, actor, openid: str) -> WechatBinding:
    """Bind the official account's openid (from its web authorisation) to the signed-in person."""
    if not openid:
        raise ValidationFailed("微信授权没有返回身份标识，请重新打开绑定页面。", fields={"openid": ["缺少 openid。"]})
    with transaction.atomic():
        taken = WechatBinding.objects.select_for_update().filter(openid=openid).exclude(user=actor).first()
        if taken is not None:
            raise ValidationFailed("这个微信号已绑定其他账号，请先在原账号中解除绑定。",
                                   fields={"openid": ["该微信号已绑定其他账号。"]})
        try:
            with transaction.atomic():  # a savepoint: a lost race leaves the transaction usable
                binding, _ = WechatBinding.objects.update_or_create(user=actor, defaults={
                    "openid": openid, "bound_at": timezone.now()})
        except IntegrityError:
            # Another request bound the openid (or this person) between the check above and the insert.
            mine = WechatBinding.objects.filter(user=actor).first()
            if mine is not None and mine.openid == openid:
                return mine  # the same person's other request (a double submit) did it, and logged it
            if WechatBinding.objects.filter(openid=openid).exclude(user=actor).exists():
                raise ValidationFailed("这个微信号已绑定其他账号，请先在原账号中解除绑定。",
                                       fields={"openid": ["该微信号已绑定其他账号。"]}) from None
            raise ValidationFailed("绑定微信：同时有另一个绑定请求，请刷新页面后重试。",
                                   fields={"openid": ["同时有另一个绑定请求，请重试。"]}) from None
        log_action(actor=actor, action="notifications.wechat.bound", target=actor, changes={"openid": mask_openid(openid)})
    return binding


def wechat_unbind(*, actor) -> None:
    with transaction.atomic():
        deleted, _ = WechatBinding.objects.filter(user=actor).delete()
        if deleted:
            log_action(actor=actor, action="notifications.wechat.unbound", target=actor)
