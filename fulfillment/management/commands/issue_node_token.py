from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from fulfillment.execution.node_keys import node_key_issue
from inventory.models import Node


class Command(BaseCommand):
    help = "Print a new API key for a node's own system, e.g. its WMS (shown once; only its digest is stored)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("node_code")
        parser.add_argument("--name", default="wms", help="A label for the key.")

    def handle(self, *args: Any, node_code: str, name: str, **options: Any) -> None:
        node = Node.objects.filter(code=node_code).first()
        if node is None:
            raise CommandError(f"No node '{node_code}'.")
        _, raw = node_key_issue(node=node, name=name)
        self.stdout.write(raw)
