"""The masked forms lists, logs and push records show (DOMAIN-RULES §7.3)."""

import pytest

from dangjian.core.masking import mask_email, mask_id_number, mask_openid, mask_phone


@pytest.mark.parametrize(("fn", "value", "shown"), [
    (mask_id_number, "11010519900307123X", "110105********123X"),
    (mask_phone, "13812345678", "138****5678"),
    (mask_email, "zhangsan@example.cn", "z***@example.cn"),
    (mask_openid, "oAbC12xyzXYZ0987654321", "oAbC12…"),
    (mask_id_number, "", ""), (mask_phone, "", ""), (mask_email, "", ""), (mask_openid, "", ""),
])
def test_masked_forms(fn, value, shown):
    assert fn(value) == shown
