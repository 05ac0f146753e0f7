"""Kinds of message and their templates.

Every module declares the messages it sends in its own `notices.py` (imported by its AppConfig.ready), with
a default wording and the variables the wording may use. The district may reword any kind on the template
page; a wording that names a variable the kind does not have is refused when saved, never when sent.

Templates write variables as {{姓名}}: Chinese names, because the people who edit them read Chinese, and a
tiny syntax of our own instead of Django's template language, which would let an editor reach attributes
and tags of the objects behind the message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from dangjian.core.errors import ValidationFailed

VARIABLE = re.compile(r"\{\{\s*([^{}\s]+)\s*\}\}")


@dataclass(frozen=True)
class Kind:
    code: str  # "notifications.political_birthday": the app's label, a dot, a name
    label: str  # shown to people: "政治生日祝福"
    title: str  # default title template
    body: str  # default body template
    variables: dict[str, str] = field(default_factory=dict)  # name → what it holds, shown beside the editor
    urgent: bool = False  # urgent kinds are pushed at once, even in quiet hours; the rest go in the digest
    replies: bool = False  # the recipient may reply (留言)


_kinds: dict[str, Kind] = {}


def register(kind: Kind) -> Kind:
    for name, text in (("title", kind.title), ("body", kind.body)):
        unknown = unknown_variables(text, kind)
        if unknown:
            raise ValueError(f"{kind.code}.{name} uses undeclared variables {unknown}")
    _kinds[kind.code] = kind
    return kind


def get(code: str) -> Kind:
    try:
        return _kinds[code]
    except KeyError:
        raise ValueError(f"未登记的消息类别 {code}") from None


def all_kinds() -> list[Kind]:
    return sorted(_kinds.values(), key=lambda k: k.code)


def unknown_variables(text: str, kind: Kind) -> list[str]:
    return sorted({name for name in VARIABLE.findall(text) if name not in kind.variables})


def check_template(kind: Kind, *, title: str, body: str) -> None:
    """Refuse a wording that could not be sent: unknown variables, stray braces, empty or too long parts."""
    errors = {}
    for name, text, limit in (("title", title, 200), ("body", body, 2000)):
        if not text.strip():
            errors[name] = ["不能为空。"]
        elif len(text) > limit:
            errors[name] = [f"不能超过 {limit} 个字（现有 {len(text)} 个）。"]
        elif unknown := unknown_variables(text, kind):
            listed = "、".join("{{" + v + "}}" for v in unknown)
            allowed = "、".join("{{" + v + "}}" for v in kind.variables) or "（无）"
            errors[name] = [f"未知变量 {listed}。可用变量：{allowed}。"]
        elif "{{" in VARIABLE.sub("", text) or "}}" in VARIABLE.sub("", text):
            errors[name] = ["花括号不成对：变量应写成 {{变量名}}。"]
    if errors:
        raise ValidationFailed("消息模板有误。", fields=errors)


def render(text: str, context: dict) -> str:
    """Fill the variables. A missing value is a programming error of the sender (every kind's senders are
    tested), so it raises instead of sending a message with a hole in it."""
    return VARIABLE.sub(lambda m: str(context[m.group(1)]), text)
