"""Forms behind the order page's transition buttons and the amendment page."""

from __future__ import annotations

from typing import Any

from django import forms

from oms.forms import CardSafeModelForm, RefusesCardNumbers
from oms.money import money_text
from orders.models import FulfillmentType, Hold, Order, ServiceLevel
from orders.services.amend_lines import LineChange
from orders.services.holds import MUST_FIX

_BILLING = ("first_name", "last_name", "line1", "line2", "city", "region", "postal_code", "country")


class CancelForm(RefusesCardNumbers, forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), help_text="Told to the customer and kept on the timeline."
    )


class PlaceHoldForm(RefusesCardNumbers, forms.Form):
    type = forms.ChoiceField(choices=Hold.Type.choices, initial=Hold.Type.MANUAL)
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))


class ResolveHoldForm(CardSafeModelForm):
    """Pick which open hold to resolve with a note; resolving the last one resumes the order.
    Address and payment holds are not offered: they are resolved by fixing them (MUST_FIX)."""

    hold = forms.ModelChoiceField(queryset=Hold.objects.none())
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), help_text="What was done about it.")

    class Meta:
        model = Order
        fields: list[str] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["hold"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = self.instance.holds.filter(resolved_at__isnull=True).exclude(type__in=list(MUST_FIX))


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
    bill_first_name = forms.CharField(label="Bill-to first name", required=False)
    bill_last_name = forms.CharField(label="Bill-to last name", required=False)
    bill_line1 = forms.CharField(label="Bill-to line1", required=False)
    bill_line2 = forms.CharField(label="Bill-to line2", required=False)
    bill_city = forms.CharField(label="Bill-to city", required=False)
    bill_region = forms.CharField(label="Bill-to region", required=False)
    bill_postal_code = forms.CharField(label="Bill-to postal code", required=False)
    bill_country = forms.CharField(label="Bill-to country", max_length=2, required=False)
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
            **{f"bill_{k}": (order.billing_address or {}).get(k, "") for k in _BILLING},
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
        if data["bill_line1"]:
            changes["billing_address"] = {k: data[f"bill_{k}"] for k in _BILLING if data[f"bill_{k}"]}
        return changes


class CancelLinesForm(forms.Form):
    """A quantity to cancel per line that still has open units, and the reason."""

    reason = forms.CharField(max_length=500, help_text="Told to the customer and kept on the timeline.")

    def __init__(self, *args: Any, order: Order, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lines = [line for line in order.lines.all() if line.qty_open]
        for line in self.lines:
            self.fields[f"line_{line.pk}"] = forms.IntegerField(
                label=f"{line.sku} {line.name}", min_value=0, max_value=line.qty_open, initial=0,
                help_text=f"{line.qty_open} open unit(s)",
            )  # fmt: skip

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not any(data.get(f"line_{line.pk}") for line in self.lines):
            raise forms.ValidationError("Choose at least one unit to cancel.")
        return data

    def quantities(self) -> dict[int, int]:
        return {
            line.pk: self.cleaned_data[f"line_{line.pk}"] for line in self.lines if self.cleaned_data[f"line_{line.pk}"]
        }

    def as_lines(self) -> list[dict[str, int]]:
        return [{"line": pk, "quantity": quantity} for pk, quantity in self.quantities().items()]

    def describe(self) -> str:
        skus = {line.pk: line.sku for line in self.lines}
        return ", ".join(f"{skus[pk]} × {quantity}" for pk, quantity in self.quantities().items())


class ChangeLinesForm(forms.Form):
    """Per line a new quantity or a substitute SKU; and one new line (SKU, quantity, unit price)."""

    add_sku = forms.CharField(label="Add SKU", required=False)
    add_quantity = forms.IntegerField(label="Add quantity", min_value=1, required=False)
    add_unit_price = forms.DecimalField(label="Add unit price", min_value=0, required=False)
    reason = forms.CharField(max_length=500, help_text="Kept on the timeline.")

    def __init__(self, *args: Any, order: Order, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lines = [line for line in order.lines.all() if line.quantity > line.qty_cancelled]
        fields = {}
        for line in self.lines:
            fields[f"quantity_{line.pk}"] = forms.IntegerField(
                label=f"{line.sku} quantity", min_value=0, initial=line.quantity - line.qty_cancelled
            )
            fields[f"substitute_{line.pk}"] = forms.CharField(label=f"{line.sku} substitute SKU", required=False)
            fields[f"substitute_price_{line.pk}"] = forms.DecimalField(
                label=f"{line.sku} substitute unit price", min_value=0, required=False,
                help_text=f"Blank: the line's price ({money_text(line.unit_price, order.currency)}).",
            )  # fmt: skip
        self.fields = {**fields, **self.fields}

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("add_sku") and not (data.get("add_quantity") and data.get("add_unit_price") is not None):
            raise forms.ValidationError("A new line needs its quantity and unit price.")
        return data

    def changes(self) -> list[LineChange]:
        data = self.cleaned_data
        found: list[LineChange] = []
        for line in self.lines:
            if data[f"substitute_{line.pk}"]:
                change: LineChange = {"line": line.pk, "sku": data[f"substitute_{line.pk}"].strip()}
                if data.get(f"substitute_price_{line.pk}") is not None:
                    change["unit_price"] = data[f"substitute_price_{line.pk}"]
                found.append(change)
            elif data[f"quantity_{line.pk}"] != line.quantity - line.qty_cancelled:
                found.append({"line": line.pk, "quantity": data[f"quantity_{line.pk}"]})
        if data.get("add_sku"):
            found.append({"sku": data["add_sku"].strip(), "quantity": data["add_quantity"],
                          "unit_price": data["add_unit_price"]})  # fmt: skip
        return found
