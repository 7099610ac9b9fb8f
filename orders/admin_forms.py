"""Forms behind the order page's transition buttons and the amendment page."""

from __future__ import annotations

from typing import Any

from django import forms

from oms.forms import CardSafeModelForm, RefusesCardNumbers
from orders.models import FulfillmentType, Hold, Order, ServiceLevel


class CancelForm(RefusesCardNumbers, forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), help_text="Told to the customer and kept on the timeline."
    )


class PlaceHoldForm(RefusesCardNumbers, forms.Form):
    type = forms.ChoiceField(choices=Hold.Type.choices, initial=Hold.Type.MANUAL)
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))


class ResolveHoldForm(CardSafeModelForm):
    """Pick which open hold to resolve; resolving the last one resumes the order."""

    hold = forms.ModelChoiceField(queryset=Hold.objects.none())
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), help_text="What was done about it.")

    class Meta:
        model = Order
        fields: list[str] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["hold"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = self.instance.holds.filter(resolved_at__isnull=True)


class AmendForm(RefusesCardNumbers, forms.Form):
    email = forms.EmailField()
    phone = forms.CharField(required=False)
    first_name = forms.CharField(required=False)
    last_name = forms.CharField(required=False)
    ship_first_name = forms.CharField(label="Ship-to first name", required=False)
    ship_last_name = forms.CharField(label="Ship-to last name", required=False)
    line1 = forms.CharField(required=False)
    line2 = forms.CharField(required=False)
    city = forms.CharField(required=False)
    region = forms.CharField(required=False)
    postal_code = forms.CharField(required=False)
    country = forms.CharField(max_length=2, required=False)
    service_level = forms.ChoiceField(choices=ServiceLevel.choices)
    fulfillment_type = forms.ChoiceField(choices=FulfillmentType.choices)
    pickup_location = forms.CharField(required=False, help_text="Store code, for pick-up.")
    promise_date = forms.DateField(required=False)
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)

    @classmethod
    def initial_for(cls, order: Order) -> dict[str, Any]:
        address = order.shipping_address or {}
        return {
            "email": order.email, "phone": order.phone, "first_name": order.first_name, "last_name": order.last_name,
            "ship_first_name": address.get("first_name", ""), "ship_last_name": address.get("last_name", ""),
            **{k: address.get(k, "") for k in ("line1", "line2", "city", "region", "postal_code", "country")},
            "service_level": order.service_level, "fulfillment_type": order.fulfillment_type,
            "pickup_location": order.pickup_node.code if order.pickup_node else "",
            "promise_date": order.promise_date, "notes": order.notes,
        }  # fmt: skip

    def as_changes(self) -> dict[str, Any]:
        """The amendment in the API's shape, so it is validated by exactly the same rules."""
        data = self.cleaned_data
        changes: dict[str, Any] = {
            "customer": {k: data[k] for k in ("email", "phone", "first_name", "last_name") if data[k]},
            "shipping": {"service_level": data["service_level"]},
            "fulfillment": {"type": data["fulfillment_type"]},
            "notes": data["notes"],
            "promise_date": data["promise_date"].isoformat() if data["promise_date"] else None,
        }
        if data["pickup_location"]:
            changes["fulfillment"]["location"] = data["pickup_location"]
        if data["line1"]:
            address = {k: data[k] for k in ("line1", "line2", "city", "region", "postal_code", "country") if data[k]}
            changes["shipping_address"] = {
                "first_name": data["ship_first_name"],
                "last_name": data["ship_last_name"],
                **address,
            }
        return changes
