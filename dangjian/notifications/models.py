"""Notifications (推送): the in-app inbox, pushes through the outside channels, and the replies members send.

A `Notification` is one message to one person and is their inbox item the moment it is created. Pushes are
`Delivery` rows, one per channel and address: an urgent notification gets its own at once, the others wait
for the person's daily digest, which bundles them into one push per channel. Every attempt is logged.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

from dangjian.core.scoping import ScopedModel


class PushState(models.TextChoices):
    WAITING = "waiting", "等待汇总推送"
    PUSHED = "pushed", "已安排推送"
    INAPP = "inapp", "仅站内"  # the person has no channel that can reach them: the inbox is enough


class Notification(ScopedModel):
    kind = models.CharField("类别", max_length=64)  # a code registered in notifications.kinds
    member = models.ForeignKey("members.Member", verbose_name="党员", null=True, blank=True,
                               on_delete=models.PROTECT, related_name="notifications")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="用户", null=True, blank=True,
                             on_delete=models.PROTECT, related_name="notifications")
    # The organisation the message concerns (the member's own for personal ones), so statistics count it in
    # the right subtree even after the member moves.
    org_path = models.CharField(max_length=255)
    title = models.CharField("标题", max_length=200)
    body = models.TextField("内容")
    link = models.CharField("链接", max_length=300, blank=True)
    urgent = models.BooleanField("紧急", default=False)
    # "political_birthday:2026:123": the same key twice is the same message, so a job that runs twice or
    # restarts after a crash cannot greet anyone twice.
    dedupe_key = models.CharField(max_length=120, null=True, blank=True, unique=True)
    push_state = models.CharField(max_length=8, choices=PushState.choices, default=PushState.WAITING)
    created_at = models.DateTimeField("时间", default=timezone.now)
    read_at = models.DateTimeField("阅读时间", null=True, blank=True)

    class Meta:
        verbose_name = "消息"
        indexes = [
            models.Index(fields=["user", "-created_at"], name="notification_user_inbox"),
            models.Index(fields=["member", "-created_at"], name="notification_member_inbox"),
            models.Index(fields=["kind", "org_path", "created_at"], name="notification_kind_scope"),
            models.Index(fields=["created_at"], name="notification_waiting",
                         condition=models.Q(push_state="waiting")),
            # The unread badge on every page counts only these.
            models.Index(fields=["user"], name="notification_user_unread", condition=models.Q(read_at__isnull=True)),
            models.Index(fields=["member"], name="notification_member_unread",
                         condition=models.Q(read_at__isnull=True)),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(member__isnull=False) | models.Q(user__isnull=False),
                                   name="notification_has_recipient"),
        ]

    class ScopeMeta:
        path = "org_path"
        member = "member_id"

    def __str__(self):
        return self.title


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "待发送"
    SENDING = "sending", "发送中"
    SENT = "sent", "已发送"
    FAILED = "failed", "发送失败"
    # Claimed, and the worker died before recording what the channel answered: it may have gone out. A
    # channel that cannot recognise a resend is never retried automatically from here (no double pushes).
    UNKNOWN = "unknown", "结果未知"


class Delivery(ScopedModel):
    channel = models.CharField("渠道", max_length=16)
    member = models.ForeignKey("members.Member", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="deliveries")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                             related_name="deliveries")
    org_path = models.CharField(max_length=255)
    notifications = models.ManyToManyField(Notification, related_name="deliveries")
    address_masked = models.CharField("接收地址", max_length=64)
    subject = models.CharField("标题", max_length=200)
    body = models.TextField("内容")
    link = models.CharField("链接", max_length=300, blank=True)
    urgent = models.BooleanField("紧急", default=False)
    dedupe_key = models.CharField(max_length=160, unique=True)
    status = models.CharField("状态", max_length=8, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField("尝试次数", default=0)
    next_attempt_at = models.DateTimeField("下次尝试", default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField("发送时间", null=True, blank=True)
    provider_ref = models.CharField("渠道回执号", max_length=100, blank=True)
    last_code = models.CharField("最后结果代码", max_length=64, blank=True)
    last_message = models.CharField("最后结果说明", max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "推送"
        indexes = [
            models.Index(fields=["next_attempt_at"], name="delivery_due",
                         condition=models.Q(status="pending")),
            models.Index(fields=["claimed_at"], name="delivery_sending",
                         condition=models.Q(status="sending")),
            models.Index(fields=["org_path", "created_at"], name="delivery_scope"),
        ]

    class ScopeMeta:
        path = "org_path"
        member = "member_id"

    def __str__(self):
        return f"{self.channel} → {self.address_masked}"


class DeliveryAttempt(models.Model):
    """What one channel answered to one try: the delivery log."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    at = models.DateTimeField(default=timezone.now)
    outcome = models.CharField("结果", max_length=8)  # sent | retry | give_up | unknown
    code = models.CharField("代码", max_length=64, blank=True)
    message = models.CharField("说明", max_length=300, blank=True)

    class Meta:
        verbose_name = "推送记录"
        ordering = ["at", "id"]

    def __str__(self):
        return f"{self.outcome} {self.code}"


class MessageTemplate(models.Model):
    """The district's wording of one kind of message; until edited, the kind's default wording is used."""

    kind = models.CharField("类别", max_length=64, unique=True)
    title = models.CharField("标题模板", max_length=200)
    body = models.TextField("内容模板")
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "消息模板"

    def __str__(self):
        return self.kind


class GreetingMessage(ScopedModel):
    """政治生日寄语: the words an organisation adds to its members' greetings (the nearest one up the tree)."""

    organization = models.OneToOneField("orgs.Organization", verbose_name="党组织", on_delete=models.PROTECT,
                                        related_name="greeting_message")
    org_path = models.CharField(max_length=255, db_index=True)
    message = models.CharField("寄语", max_length=200)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "政治生日寄语"

    class ScopeMeta:
        path = "org_path"
        member = None

    def __str__(self):
        return self.message


class Reply(ScopedModel):
    """留言: a member's answer to a message (a greeting, a notice); it reaches the branch's workers."""

    notification = models.ForeignKey(Notification, on_delete=models.PROTECT, related_name="replies")
    member = models.ForeignKey("members.Member", on_delete=models.PROTECT, related_name="replies")
    org_path = models.CharField(max_length=255)
    kind = models.CharField(max_length=64)  # the answered message's kind, for counting replies per kind
    body = models.TextField("留言")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "留言"
        indexes = [models.Index(fields=["kind", "org_path", "created_at"], name="reply_kind_scope")]

    class ScopeMeta:
        path = "org_path"
        member = "member_id"

    def __str__(self):
        return self.body[:30]


class PushPreference(models.Model):
    """Which channels reach a person (the in-app inbox always does). No row: every channel that can."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="push_preference")
    email = models.BooleanField("电子邮件", default=True)
    sms = models.BooleanField("短信", default=True)
    wechat = models.BooleanField("微信公众号", default=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "推送设置"

    def __str__(self):
        return f"推送设置 {self.user_id}"


class WechatBinding(models.Model):
    """A person's openid under the official account, obtained through its web authorisation (网页授权)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="wechat_binding")
    openid = models.CharField(max_length=64, unique=True)
    bound_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "微信绑定"

    def __str__(self):
        return f"微信绑定 {self.user_id}"
