from .errors import DomainError, RuleViolation


def apply_domain_error(form, error: DomainError) -> None:
    """Show a service's refusal on the form: on the named field where there is one, else on top. A rule's
    refusal also goes on top, because its message names the article (the field's own message names the field
    only, so "未满18周岁" would otherwise show without 第五条)."""
    if isinstance(error, RuleViolation) and error.fields:
        form.add_error(None, error.message)
    for field, msgs in error.fields.items():
        for m in msgs:
            if field in form.fields:  # the form shows the field's label itself: drop a "标签：" prefix only
                form.add_error(field, m.removeprefix(f"{form.fields[field].label}："))
            else:
                form.add_error(None, m)
    if not error.fields:
        form.add_error(None, error.message)


def submit(request, form, save):
    """The one POST path of a form page: a valid form calls `save(cleaned_data)` (one service); a
    service's refusal lands on the form. Returns the service's result, or None when nothing was saved."""
    if request.method != "POST" or not form.is_valid():
        return None
    try:
        return save(form.cleaned_data)
    except DomainError as e:
        apply_domain_error(form, e)
        return None
