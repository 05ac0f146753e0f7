"""Pages of the notification service: everyone's inbox (消息) with replies (留言); for workers the replies
received, the push log and the 政治生日寄语; for the district the message templates.

The inbox is addressed by recipient, not by organisation (see selectors.inbox): another person's message
answers 404 like anything outside a scope. Pages that can grow to thousands of rows page by keyset
(created_at, id), so the tenth page costs what the first does.
"""

from __future__ import annotations

import datetime as dt
import re

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from dangjian.accounts.roles import CAPABILITIES
from dangjian.core.errors import NotFound, PermissionDenied, ValidationFailed
from dangjian.core.forms import apply_domain_error, submit
from dangjian.core.permissions import load_one, require, require_somewhere
from dangjian.orgs.selectors import access_organization, organization_children

from . import channels, kinds, notices, services
from .forms import DeliveryFilterForm, GreetingForm, ReplyForm, StatisticsForm, TemplateForm
from .models import GreetingMessage
from .selectors import (
    delivery_list,
    greeting_messages_for,
    inbox,
    inbox_item,
    kind_statistics,
    reply_list,
    template_list,
)

PAGE_SIZE = 20
CURSOR = re.compile(r"^(\d{1,20})-(\d{1,18})$")
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

OUTCOME_LABELS = {"sent": "已送出", "retry": "稍后重试", "give_up": "放弃发送", "unknown": "结果未知"}

# Values the template editor's preview fills in; a variable not listed shows its description.
SAMPLES = {
    "姓名": "张三",
    "入党周年": "25",
    "入党日期": "2001年7月1日",
    "党组织": "甲社区党支部",
    "寄语": "不忘初心，牢记使命。",
    "原消息": "张三同志，祝您政治生日快乐",
    "留言": "感谢党组织的关怀！",
    "条数": "3",
    "列表": "· 张三同志，祝您政治生日快乐\n· 关于召开支部党员大会的通知\n· 甲社区党支部任期即将届满",
    "届满日期": "2027-03-31",
    "情况": "即将届满",
    "依据": "《中国共产党基层组织选举工作条例》第五条",
}


# --- Keyset paging ----------------------------------------------------------------------------------------

def _cursor_of(row) -> str:
    delta = row.created_at - EPOCH
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    return f"{micros}-{row.pk}"


def _page(qs, raw: str | None, size: int = PAGE_SIZE):
    """One page of a queryset ordered by (-created_at, -id), after the row named by the cursor. A cursor
    that cannot be read means the first page. Returns (rows, next cursor or None, whether this is a later page)."""
    match = CURSOR.match(raw or "")
    if match:
        try:
            at = EPOCH + dt.timedelta(microseconds=int(match[1]))
        except OverflowError:  # a hand-made cursor past the year 9999
            match = None
        else:
            qs = qs.filter(Q(created_at__lt=at) | Q(created_at=at, pk__lt=int(match[2])))
    rows = list(qs[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    return rows, (_cursor_of(rows[-1]) if more else None), bool(match)


def _posted(request):
    """The POST data of a form page (bound even when every field was left out), None on GET."""
    return request.POST if request.method == "POST" else None


def _label(rows):
    """Give each row (a notification or a reply) the label of its kind, for the lists."""
    labels = {k.code: k.label for k in kinds.all_kinds()}
    for row in rows:
        row.kind_label = labels.get(row.kind, "")
    return rows


def _kind_or_none(code: str):
    try:
        return kinds.get(code)
    except ValueError:  # a kind no longer registered (an app was removed): its messages stay readable
        return None


def _require_worker(user) -> None:
    """Pages about other people's messages are for party-affairs workers (those who see members)."""
    if not user.capability_paths("member.view"):
        raise PermissionDenied("只有党务工作者可以查看此页面。")


# --- The inbox ----------------------------------------------------------------------------------------------

@login_required
def inbox_view(request):
    rows, next_key, paged = _page(inbox(request.user).defer("body"), request.GET.get("after"))
    return render(request, "notifications/inbox.html", {"rows": _label(rows), "next_key": next_key, "paged": paged})


@login_required
@require_POST
def read_all(request):
    count = services.notifications_read_all(actor=request.user)
    messages.success(request, f"已将 {count} 条消息标为已读。" if count else "没有未读消息。")
    return redirect("notifications:inbox")


def _own_notification(request, pk: int):
    notification = inbox_item(request.user, pk)
    if notification is None:
        raise NotFound("未找到该消息，或它不是发给您的。")
    return notification


def _member_id(user) -> int | None:
    member = getattr(user, "member_or_none", None)
    return member.pk if member is not None else None


@login_required
def notification_detail(request, pk: int):
    """A message; GET marks it read, POST is a reply (留言) when its kind takes replies."""
    notification = _own_notification(request, pk)
    kind = _kind_or_none(notification.kind)
    member_id = _member_id(request.user)
    can_reply = bool(kind and kind.replies and member_id and notification.member_id == member_id)
    form = ReplyForm(_posted(request)) if can_reply else None
    if request.method == "POST":
        if not can_reply:
            raise ValidationFailed("这条消息不能回复。", fields={"body": ["这条消息不接受留言。"]})
        reply = submit(request, form, lambda d: services.reply_create(actor=request.user, notification=notification,
                                                                      body=d["body"]))
        if reply is not None:
            messages.success(request, "留言已送达党组织，感谢您的反馈。")
            return redirect("notifications:detail", notification.pk)
    else:
        services.notification_read(actor=request.user, notification=notification)
    earlier = (list(reply_list().filter(notification=notification, member_id=member_id).order_by("created_at", "id"))
               if can_reply else [])
    return render(request, "notifications/detail.html", {
        "n": notification, "kind": kind, "form": form, "earlier": earlier,
        "reply_max": _reply_max(),
    })


def _reply_max() -> int:
    return settings.DANGJIAN_REPLY_MAX_LENGTH


# --- Replies received (workers) -----------------------------------------------------------------------------

def _period(form: StatisticsForm) -> tuple[dt.date, dt.date]:
    today = timezone.localdate()
    start, end = today.replace(month=1, day=1), today
    if form.is_valid():
        start = form.cleaned_data.get("start") or start
        end = form.cleaned_data.get("end") or end
    return start, end


def _aware(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _greeting_orgs(user) -> list:
    """The organisations the user's grants name for setting the 政治生日寄语 (their descendants are reached from
    each one's page)."""
    seen, orgs = set(), []
    for grant in user.active_grants:
        if "notification.greeting" in CAPABILITIES[grant.role] and grant.organization_id not in seen:
            seen.add(grant.organization_id)
            orgs.append(grant.organization)
    return orgs


@login_required
def reply_list_view(request):
    _require_worker(request.user)
    today = timezone.localdate()
    stats_form = StatisticsForm(request.GET or None, initial={"start": today.replace(month=1, day=1), "end": today})
    start, end = _period(stats_form)
    stats = kind_statistics(kind=notices.POLITICAL_BIRTHDAY.code, start=_aware(start),
                            end=_aware(end + dt.timedelta(days=1)))
    rows, next_key, paged = _page(reply_list().select_related("member__organization"), request.GET.get("after"))
    query = request.GET.copy()
    query.pop("after", None)
    return render(request, "notifications/replies.html", {
        "rows": _label(rows), "next_key": next_key, "paged": paged, "querystring": query.urlencode(),
        "stats_form": stats_form, "stats": stats, "start": start, "end": end,
        "greeting_orgs": _greeting_orgs(request.user),
    })


@login_required
def reply_detail(request, pk: int):
    _require_worker(request.user)
    reply = load_one(reply_list().select_related("member__organization"), pk)
    return render(request, "notifications/reply_detail.html", {"reply": _label([reply])[0]})


# --- The push log (workers) ---------------------------------------------------------------------------------

@login_required
def delivery_list_view(request):
    _require_worker(request.user)
    form = DeliveryFilterForm(request.GET or None)
    qs = delivery_list().select_related("member", "user").prefetch_related("attempt_log")
    if form.is_valid():
        if form.cleaned_data["status"]:
            qs = qs.filter(status=form.cleaned_data["status"])
        if form.cleaned_data["channel"]:
            qs = qs.filter(channel=form.cleaned_data["channel"])
    rows, next_key, paged = _page(qs, request.GET.get("after"))
    labels = {n: channels.get(n).label for n in channels.ALL}
    for delivery in rows:
        delivery.channel_label = labels.get(delivery.channel, delivery.channel)
        for attempt in delivery.attempt_log.all():  # prefetched: the same objects the template reads
            attempt.outcome_label = OUTCOME_LABELS.get(attempt.outcome, attempt.outcome)
    query = request.GET.copy()
    query.pop("after", None)
    return render(request, "notifications/deliveries.html", {
        "form": form, "rows": rows, "next_key": next_key, "paged": paged, "querystring": query.urlencode(),
    })


# --- 政治生日寄语 ---------------------------------------------------------------------------------------------

@login_required
def greeting_edit(request, org_id: int):
    org = access_organization(actor=request.user, org_id=org_id)  # 404 outside the scope
    require(request.user, "notification.greeting", org)
    # The organisation's own wording (a read of one row, in the caller's scope).
    own = GreetingMessage.objects.filter(organization=org).first()
    inherited = greeting_messages_for([org.parent.path]).get(org.parent.path, "") if org.parent_id else ""
    form = GreetingForm(_posted(request), initial={"message": own.message if own else ""})
    saved = submit(request, form, lambda d: services.greeting_message_set(actor=request.user, organization=org,
                                                                          message=d["message"]) or "cleared")
    if saved is not None:
        messages.success(request, "已保存政治生日寄语。" if saved != "cleared" else "已清除本组织的寄语。")
        return redirect("notifications:greeting", org.pk)
    return render(request, "notifications/greeting.html", {
        "org": org, "form": form, "own": own, "inherited": inherited,
        "children": organization_children(org=org)[:200],
    })


# --- Message templates (district) ---------------------------------------------------------------------------

@login_required
def template_list_view(request):
    require_somewhere(request.user, "notification.template")
    return render(request, "notifications/templates.html", {"rows": template_list()})


def _preview(kind, title: str, body: str) -> dict | None:
    sample = {name: SAMPLES.get(name, f"〔{desc}〕") for name, desc in kind.variables.items()}
    try:
        kinds.check_template(kind, title=title, body=body)
    except ValidationFailed:
        return None
    return {"title": kinds.render(title, sample), "body": kinds.render(body, sample)}


@login_required
def template_edit(request, kind_code: str):
    require_somewhere(request.user, "notification.template")
    kind = _kind_or_none(kind_code)
    if kind is None:
        raise NotFound("没有这种消息类别。")
    current = next(row for row in template_list() if row["kind"].code == kind.code)
    form = TemplateForm(_posted(request), initial={"title": current["title"], "body": current["body"]})
    previewing = "preview" in request.POST
    if request.method == "POST" and form.is_valid():
        title, body = form.cleaned_data["title"], form.cleaned_data["body"]
        try:
            if previewing:
                kinds.check_template(kind, title=title, body=body)
            else:
                services.template_update(actor=request.user, kind_code=kind.code, title=title, body=body)
                messages.success(request, f"已保存“{kind.label}”的模板，之后发出的消息使用新的措辞。")
                return redirect("notifications:templates")
        except ValidationFailed as error:
            apply_domain_error(form, error)
    if request.method == "POST":
        title, body = request.POST.get("title", ""), request.POST.get("body", "")
    else:
        title, body = current["title"], current["body"]
    return render(request, "notifications/template_edit.html", {
        "kind": kind, "row": current, "form": form, "preview": _preview(kind, title, body),
        "previewing": previewing,
    })


@login_required
@require_POST
def template_reset(request, kind_code: str):
    require_somewhere(request.user, "notification.template")
    kind = _kind_or_none(kind_code)
    if kind is None:
        raise NotFound("没有这种消息类别。")
    services.template_reset(actor=request.user, kind_code=kind.code)
    messages.success(request, f"“{kind.label}”已恢复默认模板。")
    return redirect(reverse("notifications:templates"))
