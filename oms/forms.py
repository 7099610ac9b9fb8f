"""Form pieces every app's admin shares."""

from __future__ import annotations

from typing import Any

from django import forms

from oms.card_numbers import MESSAGE, field_holds_card_number


class RefusesCardNumbers(forms.BaseForm):
    """A CSR's note, reason or name is refused when it carries a card number (oms/card_numbers.py
    classifies the fields by name), so card data never reaches a row or the timeline."""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        for name, value in list(cleaned.items()):
            if field_holds_card_number(name, value):
                self.add_error(name, MESSAGE)
        return cleaned


class CardSafeModelForm(RefusesCardNumbers, forms.ModelForm):
    """The base form of the admin's editable models (ModelAdmin.form)."""
