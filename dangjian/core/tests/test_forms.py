"""core.forms.apply_domain_error: a service's refusal lands on the form the user sees."""

from django import forms

from dangjian.core.errors import RuleViolation, ValidationFailed
from dangjian.core.forms import apply_domain_error


class PersonForm(forms.Form):
    id_number = forms.CharField(label="身份证号")


def _form():
    form = PersonForm({"id_number": "x"})
    assert form.is_valid()
    return form


def test_a_field_refusal_goes_on_its_field_without_repeating_the_label():
    form = _form()
    apply_domain_error(form, ValidationFailed("有误", fields={"id_number": ["身份证号：校验位不对"]}))
    assert form.errors == {"id_number": ["校验位不对"]}


def test_a_rule_refusal_keeps_its_article_on_top_and_marks_the_field():
    form = _form()
    apply_domain_error(form, RuleViolation("申请人未满18周岁", rule="age", article="《党章》第一条",
                                           fields={"id_number": ["身份证号：未满18周岁"]}))
    assert form.non_field_errors() == ["申请人未满18周岁（《党章》第一条）"]
    assert form.errors["id_number"] == ["未满18周岁"]


def test_a_refusal_without_fields_goes_on_top_once():
    form = _form()
    apply_domain_error(form, RuleViolation("已过期限", rule="due", article="第九条"))
    assert form.non_field_errors() == ["已过期限（第九条）"]
