"""Password rules (DOMAIN-RULES §7.1 身份鉴别 a): complexity and history, as Django password validators.

Both are listed in AUTH_PASSWORD_VALIDATORS, so every `validate_password` call applies them: the system
administrator's new account and reset, a user's own change, and `seed_demo`'s password from the environment.
"""

from __future__ import annotations

import string

from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.core.exceptions import ValidationError

CLASSES = (
    ("大写字母", frozenset(string.ascii_uppercase)),
    ("小写字母", frozenset(string.ascii_lowercase)),
    ("数字", frozenset(string.digits)),
)
SYMBOLS = "符号"  # everything else: punctuation, spaces, Chinese characters …


def character_classes(password: str) -> list[str]:
    """The classes present in `password`, in the order 大写字母, 小写字母, 数字, 符号."""
    present = [name for name, chars in CLASSES if any(c in chars for c in password)]
    if any(not any(c in chars for _, chars in CLASSES) for c in password):
        present.append(SYMBOLS)
    return present


class ComplexityValidator:
    """At least `min_length` characters and at least `min_classes` of the four character classes."""

    def __init__(self, min_length: int = 8, min_classes: int = 3):
        self.min_length = min_length
        self.min_classes = min_classes

    def validate(self, password: str, user=None) -> None:
        errors = []
        if len(password) < self.min_length:
            errors.append(ValidationError(f"密码至少需要 {self.min_length} 个字符（现有 {len(password)} 个）",
                                          code="password_too_short"))
        present = character_classes(password)
        if len(present) < self.min_classes:
            errors.append(ValidationError(
                f"密码须包含大写字母、小写字母、数字、符号中的至少 {self.min_classes} 类（现有：{'、'.join(present) or '无'}）",
                code="password_too_simple"))
        if errors:
            raise ValidationError(errors)

    def get_help_text(self) -> str:
        return f"至少 {self.min_length} 个字符，包含大写字母、小写字母、数字、符号中的至少 {self.min_classes} 类"


class PasswordHistoryValidator:
    """None of the user's last DANGJIAN_PASSWORD_HISTORY passwords (the current one included) may come back."""

    def validate(self, password: str, user=None) -> None:
        if user is None or not getattr(user, "pk", None):
            return
        from .models import PasswordHistory, User

        remember = settings.DANGJIAN_PASSWORD_HISTORY
        hashes = list(PasswordHistory.objects.filter(user_id=user.pk).order_by("-created_at", "-pk")
                      .values_list("password", flat=True)[:remember])
        current = User.objects.filter(pk=user.pk).values_list("password", flat=True).first()
        if any(h and check_password(password, h) for h in dict.fromkeys([current, *hashes])):
            raise ValidationError(f"不能使用最近 {remember} 次用过的密码", code="password_reused")

    def get_help_text(self) -> str:
        return f"不能与最近 {settings.DANGJIAN_PASSWORD_HISTORY} 次用过的密码相同"
