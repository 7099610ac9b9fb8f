"""Forms of the returns screens in the operations console."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms

from inventory.models import Node
from orders.models import Order
from returns.models import Claim, Grade, Return, ReturnReason, ReturnUnit


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=500, widget=forms.TextInput(attrs={"size": 60}))


class ScanForm(forms.Form):
    """The receiving scan: the scanner types each barcode and Enter, so one code per line."""

    scans = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 8, "autofocus": True}),
        help_text="Scan every unit in the parcel (one barcode per line).",
    )

    def scan_list(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data["scans"].splitlines() if line.strip()]


class GradeForm(forms.Form):
    """A grade (and whether it is accepted for the refund) per received unit."""

    def __init__(self, *args: Any, units: list[ReturnUnit], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for unit in units:
            label = f"Unit {unit.pk}: {unit.line.order_line.sku}"
            self.fields[f"grade_{unit.pk}"] = forms.ChoiceField(
                label=label, choices=Grade.choices, initial=Grade.RESELLABLE
            )
            self.fields[f"refuse_{unit.pk}"] = forms.BooleanField(label="refuse its refund", required=False)
        self.units = units

    def grades(self) -> list[dict[str, Any]]:
        data = self.cleaned_data
        return [
            {"unit": u.pk, "grade": data[f"grade_{u.pk}"], "accept": not data[f"refuse_{u.pk}"]} for u in self.units
        ]


class StartReturnForm(forms.Form):
    """One quantity and reason per order line; the method, and the store for an in-store return."""

    method = forms.ChoiceField(choices=Return.Method.choices)
    node = forms.ModelChoiceField(queryset=Node.objects.none(), required=False, help_text="For an in-store return.")

    def __init__(self, *args: Any, order: Order, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        reasons = [(r.code, r.label) for r in ReturnReason.objects.filter(merchant_id=order.merchant_id, active=True)]
        stores = [
            n.pk
            for n in Node.objects.filter(merchants=order.merchant_id, active=True)
            if n.can(Node.Capability.RECEIVE_RETURNS)
        ]
        self.fields["node"].queryset = Node.objects.filter(pk__in=stores)
        self.lines = [line for line in order.lines.all() if line.qty_delivered > line.qty_returned]
        for line in self.lines:
            self.fields[f"qty_{line.pk}"] = forms.IntegerField(
                label=f"{line.sku} ({line.qty_delivered - line.qty_returned} returnable)",
                min_value=0,
                max_value=line.qty_delivered,
                initial=0,
            )
            self.fields[f"reason_{line.pk}"] = forms.ChoiceField(label="reason", choices=reasons)

    def as_request(self) -> dict[str, Any]:
        data = self.cleaned_data
        lines = [
            {"line": line.pk, "quantity": data[f"qty_{line.pk}"], "reason": data[f"reason_{line.pk}"]}
            for line in self.lines
            if data[f"qty_{line.pk}"]
        ]
        node = data.get("node")
        return {"lines": lines, "method": data["method"], "node_code": node.code if node else None}


class ClaimForm(forms.Form):
    kind = forms.ChoiceField(choices=Claim.Kind.choices)
    resolution = forms.ChoiceField(choices=Claim.Resolution.choices)
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, order: Order, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lines = [line for line in order.lines.all() if line.qty_shipped]
        for line in self.lines:
            self.fields[f"qty_{line.pk}"] = forms.IntegerField(
                label=f"{line.sku} units", min_value=0, max_value=line.qty_shipped, initial=0
            )

    def claim(self) -> dict[str, str]:
        return {k: self.cleaned_data[k] for k in ("kind", "resolution", "reason")}

    def as_lines(self) -> list[dict[str, int]]:
        return [
            {"line": line.pk, "quantity": self.cleaned_data[f"qty_{line.pk}"]}
            for line in self.lines
            if self.cleaned_data[f"qty_{line.pk}"]
        ]


class AppeaseForm(forms.Form):
    amount = forms.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0.01"))
    reason = forms.CharField(max_length=500, widget=forms.TextInput(attrs={"size": 60}))
