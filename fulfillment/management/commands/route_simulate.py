"""`python manage.py route_simulate --policy <version id | file.json> --since <date>`."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from fulfillment.routing.models import RoutingPolicyVersion
from fulfillment.routing.selectors import policy_spec
from fulfillment.routing.simulate import report_lines, route_simulate
from fulfillment.routing.spec import parse_policy
from oms.errors import InvalidInput
from oms.models import Merchant


def _day(value: str) -> datetime:
    try:
        return datetime.combine(date.fromisoformat(value), time.min, tzinfo=UTC)
    except ValueError:
        raise CommandError(f"'{value}' is not a date (YYYY-MM-DD).") from None


class Command(BaseCommand):
    help = (
        "Replay past orders under another routing policy without reserving anything, against the stock "
        "each node had when the order was routed, and print the result beside what happened."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--policy", required=True, help="A policy version id, or a JSON policy file.")
        parser.add_argument("--since", required=True, help="Orders first routed on or after this date (YYYY-MM-DD).")
        parser.add_argument("--until", help="... and before this date (YYYY-MM-DD).")
        parser.add_argument("--merchant", help="Merchant code (needed with a JSON file).")
        parser.add_argument(
            "--stock", choices=["ledger", "current"], default="ledger",
            help="ledger (default): stock as each node had it when the order was routed; current: today's.",
        )  # fmt: skip
        parser.add_argument("--limit", type=int, help="Replay at most this many orders.")

    def handle(self, *args: Any, **options: Any) -> None:
        source = options["policy"]
        merchant = None
        if options.get("merchant"):
            merchant = Merchant.objects.filter(code=options["merchant"]).first()
            if merchant is None:
                raise CommandError(f"No merchant '{options['merchant']}'.")
        if source.isdigit():
            version = (
                RoutingPolicyVersion.objects.filter(pk=int(source))
                .select_related("policy__merchant")
                .prefetch_related("strategies", "dropship_rules__node")
                .first()
            )
            if version is None:
                raise CommandError(f"No policy version {source}.")
            policy = policy_spec(version)
            if merchant is not None and merchant.pk != version.policy.merchant_id:
                raise CommandError(f"Policy version {source} belongs to merchant {version.policy.merchant.code}.")
            merchant = version.policy.merchant
        else:
            path = Path(source)
            if not path.is_file():
                raise CommandError(f"'{source}' is neither a policy version id nor a file.")
            if merchant is None:
                raise CommandError("With a policy file, name the merchant (--merchant <code>).")
            try:
                policy = parse_policy(json.loads(path.read_text()), label=f"{path.name} (file)")
            except json.JSONDecodeError as exc:
                raise CommandError(f"{path.name} is not JSON: {exc}") from None
            except InvalidInput as exc:
                raise CommandError(f"{path.name}: {exc.message}") from None
        report = route_simulate(
            policy=policy,
            merchant_id=merchant.pk,
            since=_day(options["since"]),
            until=_day(options["until"]) if options.get("until") else None,
            stock=options["stock"],
            limit=options.get("limit"),
        )
        if not report.actual.orders:
            self.stdout.write(f"No orders of {merchant.code} were routed since {options['since']}.")
            return
        self.stdout.write("\n".join(report_lines(report)))
