"""Money in templates: integer 分 shown as 元 with two decimals, exactly."""

from django import template

from dangjian.dues import rules

register = template.Library()


@register.filter
def yuan(fen):
    return rules.yuan(fen) if fen is not None else "—"


@register.filter
def month_label(month):
    return rules.month_label(month)
