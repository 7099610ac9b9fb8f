"""Routing policies: a new version supersedes the last one; a saved version is never changed."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Max

from fulfillment.routing.models import DropShipRule, RoutingPolicy, RoutingPolicyVersion, RoutingStrategy
from fulfillment.routing.spec import parse_policy
from inventory.models import Node
from oms.actors import Actor
from oms.errors import FieldError, InvalidInput
from oms.models import Merchant


def policy_next_number(policy: RoutingPolicy) -> int:
    """Lock the policy row and return its next version number (versions are numbered 1, 2, ...)."""
    RoutingPolicy.objects.select_for_update().filter(pk=policy.pk).first()
    return (RoutingPolicyVersion.objects.filter(policy=policy).aggregate(n=Max("number"))["n"] or 0) + 1


@transaction.atomic
def policy_version_create(
    *, policy: RoutingPolicy, document: dict[str, Any], comment: str, actor: Actor
) -> RoutingPolicyVersion:
    """Save a new version of the policy from its JSON document (docs/ROUTING.md); it applies to
    every order routed from now on. The document is validated whole before anything is written."""
    if not comment.strip():
        raise InvalidInput([FieldError("comment", "required", "Say what changed and why.")])
    spec = parse_policy(document, label=policy.name)
    codes = {d.node_code for d in spec.dropship}
    nodes = {n.code: n for n in Node.objects.filter(code__in=codes)}
    missing = sorted(codes - set(nodes))
    if missing:
        raise InvalidInput([FieldError("dropship", "invalid", f"Unknown node(s): {', '.join(missing)}.")])
    version = RoutingPolicyVersion.objects.create(
        policy=policy, number=policy_next_number(policy), comment=comment, created_by=actor.label[:150]
    )
    raw = document["strategies"]
    RoutingStrategy.objects.bulk_create(
        RoutingStrategy(
            version=version,
            position=i + 1,
            name=s.name,
            conditions=raw[i].get("conditions") or {},
            filters=raw[i].get("filters") or {},
            ranking=raw[i].get("ranking") or {},
            max_shipments=s.max_shipments,
            ship_complete=s.ship_complete,
            ship_complete_channels=list(s.ship_complete_channels),
            keep_bundles=s.keep_bundles,
            failure_action=s.failure_action,
            failure_days=s.failure_days,
        )
        for i, s in enumerate(spec.strategies)
    )
    DropShipRule.objects.bulk_create(
        DropShipRule(version=version, sku=d.sku, tag=d.tag, node=nodes[d.node_code]) for d in spec.dropship
    )
    return version


@transaction.atomic
def policy_create(
    *, merchant: Merchant, name: str, document: dict[str, Any], actor: Actor, active: bool = True
) -> RoutingPolicyVersion:
    """Create a policy with its first version; an active one replaces the merchant's active policy."""
    if active:
        RoutingPolicy.objects.filter(merchant=merchant, active=True).update(active=False)
    policy = RoutingPolicy.objects.create(merchant=merchant, name=name, active=active)
    return policy_version_create(policy=policy, document=document, comment="First version", actor=actor)
