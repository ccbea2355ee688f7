"""The console's "find a customer" boxes: whatever a person types names one customer, or nobody."""
from __future__ import annotations

import pytest

from customers.services import customer_identify
from identity.selectors import customer_named

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("lakehouse")]


def test_a_customer_is_found_by_any_identifier_a_person_would_type(tenant_a, tenant_b):
    ada = customer_identify(tenant=tenant_a.ref, user_id="ada-1", anonymous_id="anon-7", email="Ada@Example.com",
                            traits={"phone": "+44 20 7946 0000"}, actor="t").cdp_id
    for typed in ("ada-1", "ada@example.com", " Ada@Example.com ", "anon-7", "+442079460000", ada):
        assert customer_named(tenant=tenant_a.ref, who=typed) == ada, typed
    assert customer_named(tenant=tenant_a.ref, who="nobody@example.com") == ""
    assert customer_named(tenant=tenant_a.ref, who="") == "" and customer_named(tenant=tenant_a.ref, who="\x00") == ""
    assert customer_named(tenant=tenant_b.ref, who="ada-1") == ""  # another tenant's customer is nobody here
