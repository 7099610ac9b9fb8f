from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from oms.models import Merchant
from oms.tenancy import api_key_issue, merchant_create


class Command(BaseCommand):
    help = "Print a new API key for a merchant (shown once; only its digest is stored)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("merchant_code")
        parser.add_argument("--create", action="store_true", help="Create the merchant if it does not exist.")
        parser.add_argument("--name", default="cli", help="A label for the key.")

    def handle(self, *args: Any, merchant_code: str, create: bool, name: str, **options: Any) -> None:
        merchant = Merchant.objects.filter(code=merchant_code).first()
        if merchant is None:
            if not create:
                raise CommandError(f"No merchant '{merchant_code}' (use --create to make it).")
            merchant = merchant_create(code=merchant_code)
        _, raw = api_key_issue(merchant=merchant, name=name)
        self.stdout.write(raw)
