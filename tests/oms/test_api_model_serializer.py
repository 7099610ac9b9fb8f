"""oms.api.base.ModelSerializer works out a class's fields once, and answers as DRF's does."""

from __future__ import annotations

import pytest
from rest_framework import serializers

from oms.api.base import ModelSerializer
from oms.models import Merchant
from tests.factories import MerchantFactory

pytestmark = pytest.mark.django_db

FIELDS = ["id", "code", "name", "order_prefix", "created_at"]


def merchant_out(base: type[serializers.ModelSerializer]) -> type[serializers.ModelSerializer]:
    """The same serializer on either base: ours, or DRF's own."""

    class Out(base):  # type: ignore[valid-type,misc]
        shout = serializers.SerializerMethodField()

        class Meta:
            model = Merchant
            fields = [*FIELDS, "shout"]

        def get_shout(self, merchant: Merchant) -> str:
            return merchant.name.upper()

    return Out


MerchantOut, PlainMerchantOut = merchant_out(ModelSerializer), merchant_out(serializers.ModelSerializer)


def test_it_renders_what_drfs_model_serializer_renders():
    merchants = [MerchantFactory(name="Acme"), MerchantFactory(name="Globex")]
    assert MerchantOut(merchants, many=True).data == PlainMerchantOut(merchants, many=True).data
    assert MerchantOut(merchants[0]).data["shout"] == "ACME"


def test_each_instance_binds_its_own_copy_of_the_fields(monkeypatch):
    built = []
    build_field = serializers.ModelSerializer.build_field
    monkeypatch.setattr(serializers.ModelSerializer, "build_field", lambda *a: built.append(a[1]) or build_field(*a))
    first, second = MerchantOut(MerchantFactory()), MerchantOut(MerchantFactory())
    first_fields, second_fields = first.fields, second.fields
    assert first_fields["name"] is not second_fields["name"]
    assert (first_fields["name"].parent, second_fields["name"].parent) == (first, second)
    first_fields.pop("code")
    assert "code" in second_fields
    assert "code" in MerchantOut(MerchantFactory()).fields
    assert built.count("name") <= 1, "the model's fields are worked out once per class"
