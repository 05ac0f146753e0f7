"""组织关系接转 (Transfer) and 流动党员 (MobileMember).

Scoping a transfer (ARCHITECTURE §5): a transfer belongs to TWO organisations, the sender and the receiver,
and each side must see it. `TransferParty` is the scoped row (one per side, carrying that side's
`org_path`, so an organisation move rewrites it like every other path column); a transfer is visible
when any of its parties lies in the active scope, or when it is the member's own. `TransferManager` says
exactly that with one EXISTS over the party index: no join, so no duplicate rows when both sides are in
scope (a district administrator sees each transfer once).
"""

from __future__ import annotations

import re

from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef, Q

from dangjian.core import crypto
from dangjian.core.masking import mask_phone
from dangjian.core.scoping import ScopedManager, ScopedModel, current_scope, subtree_q


class TransferKind(models.TextChoices):
    WITHIN = "within", "区内转接"
    OUT = "out", "转出本区"
    IN = "in", "从区外转入"
    TEMPORARY = "temporary", "临时组织关系（党员证明信）"
    WHOLE_UNIT = "whole_unit", "整建制转接"


COUNTED_KINDS = (TransferKind.WITHIN, TransferKind.OUT, TransferKind.IN)  # in the statistics: not 证明信, not 整建制


def mask_contact(text: str) -> str:
    """联系方式 for display (DOMAIN-RULES §7.3): every phone-like run of digits (7 or more, spaces and
    hyphens allowed inside) masked as 138****5678; other text (微信, a place) is kept."""
    def one(match: re.Match) -> str:
        digits = re.sub(r"\D", "", match.group(0))
        # a mobile number as 138****5678; a shorter (landline) run keeps only its last four
        return mask_phone(digits) if len(digits) >= 11 else "*" * (len(digits) - 4) + digits[-4:]

    return _PHONE_LIKE.sub(one, text or "")


_PHONE_LIKE = re.compile(r"\+?\d(?:[\d \-]{5,}\d)")


class TransferStatus(models.TextChoices):
    DRAFT = "draft", "草稿"
    SUBMITTED = "submitted", "已提交"
    APPROVED = "approved", "转出党委已审批"
    ACCEPTED = "accepted", "已接收"
    PLACED = "placed", "已编入支部"
    CLOSED = "closed", "已办结"
    RETURNED = "returned", "已退回"
    WITHDRAWN = "withdrawn", "已撤回"
    EXPIRED = "expired", "介绍信已过期"


FINISHED = (TransferStatus.CLOSED, TransferStatus.WITHDRAWN)  # every other status is "in transfer"
# Open and not yet accepted: 在办 in the statistics (a draft is not yet a transfer there)
OPEN = (TransferStatus.SUBMITTED, TransferStatus.APPROVED, TransferStatus.RETURNED, TransferStatus.EXPIRED)
# The receiving side reads the free text (转接原因, event notes) only from acceptance on (DOMAIN-RULES §4.1).
OPEN_TO_RECEIVER = (TransferStatus.ACCEPTED, TransferStatus.PLACED, TransferStatus.CLOSED)
# A letter can be printed only while it stands or after it served; a withdrawn, returned or expired one is void.
PRINTABLE = (TransferStatus.APPROVED, TransferStatus.ACCEPTED, TransferStatus.PLACED, TransferStatus.CLOSED)


class Side(models.TextChoices):
    SENDER = "sender", "转出方"
    RECEIVER = "receiver", "接收方"


class TransferManager(ScopedManager):
    """Visible when a party lies in the scope's subtrees, or to the member it is about."""

    def get_queryset(self):
        qs = models.QuerySet(self.model, using=self._db)
        active = current_scope()
        if active.everything:
            return qs
        q = Q(pk__in=[])
        if active.subtrees:
            parties = TransferParty.unscoped.filter(subtree_q("org_path", active.subtrees), transfer=OuterRef("pk"))
            q = Q(Exists(parties))
        if active.member_id is not None:
            q |= Q(member_id=active.member_id)
        return qs.filter(q)


class Transfer(ScopedModel):
    kind = models.CharField("转接类型", max_length=16, choices=TransferKind.choices)
    status = models.CharField("状态", max_length=16, choices=TransferStatus.choices, default=TransferStatus.DRAFT)
    member = models.ForeignKey("members.Member", verbose_name="党员", null=True, blank=True,
                               on_delete=models.PROTECT, related_name="transfers")
    # What the receiver may see before acceptance is a snapshot here, never the member record itself.
    person_name = models.CharField("姓名", max_length=50)
    id_number_masked = models.CharField("身份证号", max_length=18)
    id_number_digest = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    member_status = models.CharField("党员类别", max_length=16, blank=True)
    from_org = models.ForeignKey("orgs.Organization", verbose_name="转出党组织", null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="+")
    from_external = models.CharField("转出党组织（区外）", max_length=100, blank=True)
    to_org = models.ForeignKey("orgs.Organization", verbose_name="转入党组织", null=True, blank=True,
                               on_delete=models.PROTECT, related_name="+")
    to_external = models.CharField("转入党组织（区外）", max_length=100, blank=True)
    sender_committee = models.ForeignKey("orgs.Organization", verbose_name="转出党委", null=True, blank=True,
                                         on_delete=models.PROTECT, related_name="+")
    receiver_committee = models.ForeignKey("orgs.Organization", verbose_name="接收党委", null=True, blank=True,
                                           on_delete=models.PROTECT, related_name="+")
    placed_org = models.ForeignKey("orgs.Organization", verbose_name="编入党支部", null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    unit = models.ForeignKey("orgs.Organization", verbose_name="整建制转接的党组织", null=True, blank=True,
                             on_delete=models.PROTECT, related_name="+")
    unit_members = models.PositiveIntegerField("随组织转接的党员数", default=0)
    reason = models.CharField("转接原因", max_length=200, blank=True)
    return_reason = models.CharField("退回原因", max_length=200, blank=True)
    dues_paid_up_to = models.DateField("党费交至", null=True, blank=True)  # first day of the month
    letter_number = models.CharField("介绍信编号", max_length=60, blank=True)
    letter_issued_on = models.DateField("开具日期", null=True, blank=True)
    valid_until = models.DateField("有效期至", null=True, blank=True)
    submitted_on = models.DateField("提交日期", null=True, blank=True)
    approved_on = models.DateField("审批日期", null=True, blank=True)
    accepted_on = models.DateField("接收日期", null=True, blank=True)
    placed_on = models.DateField("编入日期", null=True, blank=True)
    closed_on = models.DateField("办结日期", null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TransferManager()

    class Meta:
        verbose_name = "组织关系接转"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["-created_at", "-id"], name="transfer_newest"),  # the list's order
                   models.Index(fields=["status", "approved_on"], name="transfer_status_approved"),
                   models.Index(fields=["status", "valid_until"], name="transfer_status_valid")]
        # (The statistics read their own counters, TransferTally, not date ranges of this table.)
        constraints = [
            # A member is in at most one unfinished transfer (the service checks first, this catches a race).
            models.UniqueConstraint(fields=["member"], condition=~Q(status__in=["closed", "withdrawn"]),
                                    name="one_open_transfer_per_member"),
            # One open registration of an incoming letter per person (checked first; this catches a race).
            models.UniqueConstraint(fields=["id_number_digest"],
                                    condition=Q(kind="in") & ~Q(status__in=["closed", "withdrawn"]),
                                    name="one_open_incoming_per_person"),
            models.CheckConstraint(condition=Q(valid_until__isnull=True) | Q(letter_issued_on__isnull=True)
                                   | Q(valid_until__gte=models.F("letter_issued_on")),
                                   name="transfer_valid_after_issue"),
        ]

    class ScopeMeta:
        path = "parties__org_path"  # through TransferParty (see TransferManager); not a local path column
        member = "member_id"

    def __str__(self):
        return f"{self.person_name} {self.get_kind_display()}"

    @property
    def from_name(self) -> str:
        return self.from_org.name if self.from_org_id else self.from_external

    @property
    def to_name(self) -> str:
        return self.to_org.name if self.to_org_id else self.to_external


class TransferParty(ScopedModel):
    transfer = models.ForeignKey(Transfer, on_delete=models.CASCADE, related_name="parties")
    side = models.CharField(max_length=16, choices=Side.choices)
    organization = models.ForeignKey("orgs.Organization", on_delete=models.PROTECT, related_name="+")
    org_path = models.CharField(max_length=255, editable=False)

    class Meta:
        verbose_name = "接转当事组织"
        indexes = [models.Index(fields=["org_path", "transfer"], name="transfer_party_scope"),
                   # a transfer's sides within a subtree in one index seek, without the table (the statistics,
                   # and TransferManager's EXISTS)
                   models.Index(fields=["transfer", "org_path", "side"], name="transfer_party_sides")]
        constraints = [models.UniqueConstraint(fields=["transfer", "side"], name="one_party_per_side")]

    class ScopeMeta:
        path = "org_path"
        member = None


class TransferTally(ScopedModel):
    """接转汇总: per organisation (its whole subtree), measure, day and duration, how many transfers; the
    `orgs.tallies` mechanism with its own rule for a transfer's two sides and for moves (transfers.tallies).
    The statistics of any organisation and period read only that organisation's rows."""

    org_path = models.CharField(max_length=255)
    measure = models.CharField(max_length=8)  # transfers.tallies: out, into, within, done, pending
    day = models.DateField()
    days = models.IntegerField(default=0)  # done: submitted → completed; -1 without a submission date
    count = models.IntegerField(default=0)

    class Meta:
        verbose_name = "接转汇总"
        # The upsert's conflict target (orgs.tallies), and one organisation's measures over a period from its
        # prefix (org_path = P AND measure = M AND day BETWEEN …).
        constraints = [models.UniqueConstraint(fields=["org_path", "measure", "day", "days"],
                                               name="transfer_tally_key")]

    class ScopeMeta:
        path = "org_path"
        member = None
        tally_keys = ("measure", "day", "days")  # orgs.tallies: the counter's key after org_path
        tally_sums = ("count",)
        tally_move = "dangjian.transfers.tallies.move_deltas"  # a transfer has two sides (orgs.tallies)

    def __str__(self):
        return f"{self.org_path} {self.measure} {self.day} {self.days}: {self.count}"


class TransferEvent(models.Model):
    """One dated, attributed step of a transfer (the member's 转接进程). Reached only through its transfer,
    which was loaded through the scope."""

    transfer = models.ForeignKey(Transfer, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(max_length=24)
    from_status = models.CharField(max_length=16, blank=True, choices=TransferStatus.choices)
    to_status = models.CharField(max_length=16, choices=TransferStatus.choices)
    on = models.DateField("日期")
    at = models.DateTimeField(auto_now_add=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    actor_label = models.CharField(max_length=100)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["transfer_id", "at", "id"]

    def __str__(self):
        return f"{self.on} {self.action}"


class LetterCounter(models.Model):
    """The last 介绍信 number a 党委 issued in a year; locked with select_for_update to hand out the next."""

    committee = models.ForeignKey("orgs.Organization", on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["committee", "year"], name="one_counter_per_committee_year")]

    def __str__(self):
        return f"{self.committee_id}/{self.year}: {self.last}"


class MobileMember(ScopedModel):
    """流动党员 (DOMAIN-RULES §4.5): away ≥ 6 months without a transfer; the sending branch keeps contact."""

    # one row per stint away: an ended stint is kept (its history), a new one is a new row
    member = models.ForeignKey("members.Member", on_delete=models.PROTECT, related_name="mobile_stints")
    left_on = models.DateField("外出日期")
    destination = models.CharField("流入地", max_length=100)
    # 联系方式 (usually a phone): encrypted, with a masked copy for lists and the API (as Member.phone);
    # reading it in full is services.mobile_contact_reveal, audited
    contact_encrypted = models.TextField(blank=True, editable=False)
    contact_masked = models.CharField("联系方式", max_length=100, blank=True, editable=False)
    card_number = models.CharField("流动党员活动证编号", max_length=40, blank=True)
    card_issued_on = models.DateField("发证日期", null=True, blank=True)
    last_contact_on = models.DateField("最近联系日期")
    last_report_on = models.DateField("最近报到日期", null=True, blank=True)
    ended_on = models.DateField("结束日期", null=True, blank=True)

    class Meta:
        verbose_name = "流动党员"
        ordering = ["member__org_path", "id"]
        constraints = [models.UniqueConstraint(fields=["member"], condition=Q(ended_on__isnull=True),
                                               name="one_open_mobile_stint_per_member")]

    class ScopeMeta:
        path = "member__org_path"  # follows the member through every move, no copy to keep right
        member = "member_id"


crypto.register_encrypted(MobileMember, "contact_encrypted")
