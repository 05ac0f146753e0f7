"""Masking by default (DOMAIN-RULES §7.3): lists, exports, the API and logs show only these forms."""


def mask_id_number(number: str) -> str:
    """110105********002X: keeps the region and the last four, hides the birth date."""
    if not number:
        return ""
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


def mask_phone(phone: str) -> str:
    """138****5678"""
    if not phone:
        return ""
    return phone[:3] + "****" + phone[-4:]


def mask_email(address: str) -> str:
    """z***@example.cn: the first letter and the domain."""
    if not address:
        return ""
    name, _, domain = address.partition("@")
    return f"{name[:1]}***@{domain}"


def mask_openid(openid: str) -> str:
    """oAbC12…: enough to tell two bindings apart, not to address anyone."""
    return openid[:6] + "…" if openid else ""
