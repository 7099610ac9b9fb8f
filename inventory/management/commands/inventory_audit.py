"""`manage.py inventory_audit`: every stock row must equal the sums of its ledger movements."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from inventory.models import StockLevel
from inventory.selectors import stock_audit


class Command(BaseCommand):
    help = "Check that on_hand and allocated of every (SKU, node) equal the sums of its ledger movements."

    def handle(self, *args: Any, **options: Any) -> None:
        discrepancies = stock_audit()
        for d in discrepancies:
            self.stdout.write(
                f"{d.sku} @ {d.node} (stock {d.stock_id}): on_hand {d.on_hand} vs ledger {d.ledger_on_hand}, "
                f"allocated {d.allocated} vs ledger {d.ledger_allocated}"
            )
        checked = StockLevel.objects.count()
        if discrepancies:
            raise CommandError(f"{len(discrepancies)} of {checked} stock rows disagree with the ledger.")
        self.stdout.write(self.style.SUCCESS(f"{checked} stock rows checked: all equal their ledger sums."))
