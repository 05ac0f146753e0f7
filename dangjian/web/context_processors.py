from django.urls import reverse


def navigation(request):
    """The main menu shows only what the user may open."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    items = [("web:home", "工作台", True)]
    worker = bool(user.capability_paths("member.view"))
    items += [
        ("orgs:tree", "党组织", worker),
        ("members:list", "党员", worker),
        ("members:me", "我的档案", hasattr(user, "member") and _has_member(user)),
        ("accounts:users", "账号管理", user.has_capability("user.manage")),
        ("accounts:grants", "角色授权", user.has_capability("grant.manage")),
        ("audit:log", "审计日志", user.has_capability("audit.view")),
        ("accounts:tokens", "接口令牌", worker),
    ]
    path = request.path
    nav = []
    for name, label, shown in items:
        if shown:
            url = reverse(name)
            nav.append({"url": url, "label": label, "active": path == url or (url != "/" and path.startswith(url))})
    return {"nav_items": nav}


def _has_member(user) -> bool:
    try:
        return user.member is not None
    except Exception:  # RelatedObjectDoesNotExist
        return False
