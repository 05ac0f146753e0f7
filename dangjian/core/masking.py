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
