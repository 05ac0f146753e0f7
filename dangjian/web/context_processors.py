from functools import lru_cache

from django.urls import get_script_prefix, reverse

from dangjian.notifications.selectors import unread_count


def unread_count_for(request) -> int:
    """The signed-in person's unread messages: one COUNT per request, shared by the menu badge and any page
    that shows the number too (the inbox, the member centre)."""
    if not hasattr(request, "_unread_count"):
        request._unread_count = unread_count(request.user)
    return request._unread_count


def navigation(request):
    """The main menu shows only what the user may open: the daily work in the bar, the rest under 更多."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    unread = unread_count_for(request)
    worker = bool(user.capability_paths("member.view"))
    member = _has_member(user)
    approver = bool(user.capability_paths("recruitment.approve"))
    administrator = any(user.has_capability(c) for c in ("user.manage", "grant.manage", "audit.view"))
    main = [
        ("web:home", "工作台", worker),
        ("orgs:tree", "党组织", worker),
        ("members:list", "党员", worker),
        ("meetings:list", "组织生活", worker),
        ("dues:statistics", "党费", worker),
        ("transfers:list", "转接", worker),
        ("recruitment:list", "发展党员", worker),
        ("bases:manage", "阵地", worker),
        ("web:centre", "党员中心", member),
        ("notifications:inbox", "消息", True),
        ("accounts:users", "账号管理", user.has_capability("user.manage")),
        ("accounts:grants", "角色授权", user.has_capability("grant.manage")),
        ("audit:log", "审计日志", user.has_capability("audit.view")),
    ]
    more = [
        ("notifications:replies", "留言", worker),
        ("transfers:mobile", "流动党员", worker),
        ("recruitment:due", "发展党员期限", worker),
        ("recruitment:queue", "发展党员党委待办", approver),
        ("recruitment:plans", "发展计划与统计", worker),
        ("recruitment:practice", "发展党员地方做法", approver),
        ("bases:map", "云地图", True),
        ("notifications:deliveries", "推送记录", worker),
        ("notifications:templates", "消息模板", bool(user.capability_paths("notification.template"))),
        ("web:calendar", "节假日安排", bool(user.capability_paths("calendar.manage"))),
        ("accounts:tokens", "接口令牌", worker and not administrator),
    ]
    nav = _items(main, unread)
    nav_more = _items(more, unread)
    # The most specific item is the current one (/notifications/replies/ is 留言, not 消息).
    path = request.path
    matches = [i for i in nav + nav_more if path == i["url"] or (i["url"] != "/" and path.startswith(i["url"]))]
    if matches:
        max(matches, key=lambda item: len(item["url"]))["active"] = True
    return {"nav_items": nav, "nav_more": nav_more, "nav_more_active": any(i["active"] for i in nav_more),
            "unread_count": unread}


def _items(entries, unread) -> list[dict]:
    prefix = get_script_prefix()
    return [{"url": _url(name, prefix), "label": label, "active": False,
             "badge": unread if name == "notifications:inbox" else 0}
            for name, label, shown in entries if shown]


@lru_cache(maxsize=256)
def _url(name: str, prefix: str) -> str:
    """The menu's addresses never change while the process runs (for one script prefix): reversed once, not
    twenty times on every page."""
    return reverse(name)


def _has_member(user) -> bool:
    return getattr(user, "member_or_none", None) is not None
