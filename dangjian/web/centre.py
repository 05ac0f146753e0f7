"""线上党员中心: the member's own pages, mobile first (360 px), linked from the official account's menu.

The home page is a column of large cards (messages, record, organisation, meetings, dues, settings); the
settings page holds the push channels, the large-font mode (适老化) and the WeChat binding. Other modules'
member pages (meetings:my, dues:my) get a card as soon as their URL exists.
"""

from __future__ import annotations

import secrets
import tempfile
from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.http import FileResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.crypto import constant_time_compare
from django.views.decorators.http import require_POST

from dangjian.core.errors import ValidationFailed
from dangjian.core.forms import submit
from dangjian.members.selectors import own_member
from dangjian.notifications import channels, services
from dangjian.notifications.channels import wechat
from dangjian.notifications.forms import PreferenceForm
from dangjian.notifications.models import PushPreference, WechatBinding
from dangjian.notifications.selectors import inbox, workers_of
from dangjian.orgs.models import CommitteeMember, Organization, Position

from .context_processors import unread_count_for
from .personal_data import personal_data_export

STATE_KEY = "wechat_bind_state"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
POSITION_ORDER = list(Position.values)  # 书记, 副书记, 专职副书记, 委员


# --- Reads for the centre -----------------------------------------------------------------------------------



# 我的组织 (the organisation card): where the branch sits in the tree, its committee and its workers. The same
# for every member of the branch and changed a few times a year, yet four queries on the page members open
# most (issue 8: the centre at ≥ 50 % of a trivial view's throughput). So it is kept in the cache for
# ORG_CARD_SECONDS: a new secretary, worker account or name reaches the card within that time (per process
# without Redis, shared by every server with it). Plain strings, so any cache backend can hold it.
ORG_CARD_SECONDS = 60


@dataclass(frozen=True)
class OrgCard:
    name: str
    path_names: tuple[str, ...]  # the district down to the organisation's parent
    secretaries: tuple[str, ...]
    seats: tuple[tuple[str, str], ...]  # the other seats: (name, position)
    workers: tuple[str, ...]


def org_card(org_id: int) -> OrgCard:
    key = f"centre:org-card:{org_id}"
    card = cache.get(key)
    if card is None:
        card = _org_card_read(org_id)
        cache.set(key, card, ORG_CARD_SECONDS)
    return card


def _org_card_read(org_id: int) -> OrgCard:
    """Read unscoped: a member's scope holds only their own organisation, and the card shows names only —
    of the organisations above it, its committee and its workers — which every member of it may know."""
    org = Organization.unscoped.only("id", "path", "name").get(pk=org_id)
    path_names = Organization.unscoped.filter(path__in=org.ancestor_paths()[:-1]).order_by("path")
    seats = sorted(CommitteeMember.unscoped.filter(organization_id=org_id, left_on__isnull=True)
                   .only("person_name", "position"),
                   key=lambda s: (POSITION_ORDER.index(s.position) if s.position in POSITION_ORDER else 99,
                                  s.person_name))
    return OrgCard(
        name=org.name,
        path_names=tuple(path_names.values_list("name", flat=True)),
        secretaries=tuple(s.person_name for s in seats if s.position == Position.SECRETARY),
        seats=tuple((s.person_name, s.get_position_display()) for s in seats if s.position != Position.SECRETARY),
        workers=tuple(str(user) for user in workers_of(org)),
    )


def _url_or_none(name: str) -> str | None:
    """Member pages of modules still being built appear once their URL exists."""
    try:
        return reverse(name)
    except NoReverseMatch:
        return None


# --- Pages ----------------------------------------------------------------------------------------------------

@login_required
def centre_home(request):
    member = own_member(actor=request.user)
    context = {
        "member": member,
        "org": org_card(member.organization_id),
        "unread": unread_count_for(request),
        # Two fields, not model instances: building three deferred Notifications cost more than the query.
        "latest": list(inbox(request.user).values("title", "read_at")[:3]),
        "standing_years": member.party_standing_years(timezone.localdate()),
        "meetings_url": _url_or_none("meetings:my"),
        "dues_url": _url_or_none("dues:my"),
        # 组织关系转接 (my transfer progress): the transfers module was still being built when the centre
        # was; like meetings and dues, its card appears once `transfers:my` is routed.
        "transfers_url": _url_or_none("transfers:my"),
        # 入党进度 (发展党员全程纪实): only for a member who has a recruitment case (a probationary member, or a full
        # member whose case is kept); everyone else would see an empty page.
        "recruitment_url": _url_or_none("recruitment:mine") if _has_recruitment_case(request.user, member) else None,
    }
    return render(request, "web/centre/home.html", context)


def _has_recruitment_case(user, member) -> bool:
    """One EXISTS over the person's own cases: by the account linked to the case or by the member's record
    (unscoped for the same reason as recruitment.selectors.own_cases: filtered to this one person)."""
    from django.db.models import Q

    from dangjian.recruitment.models import RecruitmentCase

    return RecruitmentCase.unscoped.filter(Q(user=user) | Q(member=member)).exists()


def _preference_initial(user) -> dict:
    pref = PushPreference.objects.filter(user=user).first()
    initial = {"email": True, "sms": True, "wechat": True} if pref is None else {
        "email": pref.email, "sms": pref.sms, "wechat": pref.wechat}
    return {**initial, "large_font": user.large_font}


@login_required
def centre_settings(request):
    """推送设置: which channels reach me, the large-font mode and the WeChat binding (everyone signed in)."""
    form = PreferenceForm(request.POST if request.method == "POST" else None,
                          initial=_preference_initial(request.user))
    if submit(request, form, lambda d: services.preference_update(actor=request.user, **d)) is not None:
        messages.success(request, "已保存推送设置。")
        return redirect("web:centre_settings")
    return render(request, "web/centre/settings.html", {
        "form": form,
        "binding": WechatBinding.objects.filter(user=request.user).first(),
        "wechat_ready": channels.get("wechat").configured(),
        "is_member": _is_member(request.user),
    })


def _is_member(user) -> bool:
    return user.member_or_none is not None


@login_required
def personal_data(request):
    """下载我的个人信息 (个人信息保护法 第四十五条): the page says what the file holds (GET); the button downloads
    it (POST: a deliberate, audited act that no link preview or prefetch can trigger). The file holds the
    person's full ID number and phone, so it is never cached and always an attachment."""
    if request.method != "POST":
        return render(request, "web/centre/data.html", {"is_member": _is_member(request.user)})
    # Written to a temporary file first (XlsxWriter keeps few rows in memory), then streamed, as the roster.
    target = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it; the file vanishes on close
    try:
        personal_data_export(actor=request.user, target=target)
    except BaseException:
        target.close()
        raise
    target.seek(0)
    response = FileResponse(target, as_attachment=True, content_type=XLSX,
                            filename=f"我的个人信息-{timezone.localdate():%Y%m%d}.xlsx")
    add_never_cache_headers(response)
    return response


@login_required
@require_POST
def wechat_bind_start(request):
    """Send the browser (inside WeChat) to the official account's authorisation, with a one-time state."""
    if not channels.get("wechat").configured():
        messages.error(request, "本平台尚未开通微信公众号推送，暂时无法绑定微信。")
        return redirect("web:centre_settings")
    state = secrets.token_hex(16)
    request.session[STATE_KEY] = state
    callback = settings.DANGJIAN_PUBLIC_URL.rstrip("/") + reverse("web:centre_wechat_callback")
    return redirect(wechat.authorize_url(callback, state))


@login_required
def wechat_callback(request):
    """WeChat comes back with ?code=…&state=…: the state must be the one this session was given."""
    expected = request.session.pop(STATE_KEY, None)
    state = request.GET.get("state", "")
    if not expected or not constant_time_compare(state, expected):
        messages.error(request, "微信授权校验失败（链接已失效或不是从本页发起），请重新点击“绑定微信”。")
        return redirect("web:centre_settings")
    try:
        openid = wechat.exchange_code(request.GET.get("code", ""))
        services.wechat_bind(actor=request.user, openid=openid)
    except ValidationFailed as error:
        messages.error(request, error.message)
        return redirect("web:centre_settings")
    messages.success(request, "已绑定微信，消息将推送到您的微信公众号。")
    return redirect("web:centre_settings")


@login_required
@require_POST
def wechat_unbind(request):
    services.wechat_unbind(actor=request.user)
    messages.success(request, "已解除微信绑定。")
    return redirect("web:centre_settings")
