from .errors import DomainError


def apply_domain_error(form, error: DomainError) -> None:
    """Show a service's refusal on the form: on the named field where there is one, else on top."""
    for field, msgs in error.fields.items():
        for m in msgs:
            form.add_error(field if field in form.fields else None, m.split("：", 1)[-1] if field in form.fields else m)
    if not error.fields:
        form.add_error(None, error.message)
