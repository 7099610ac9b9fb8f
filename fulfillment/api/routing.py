"""`GET /api/v1/orders/{number}/routing/`: the order's routing decisions, oldest first."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from fulfillment.routing.models import RoutingDecision
from fulfillment.routing.selectors import order_routing
from oms.api.base import MerchantAPIView, ModelSerializer
from oms.api.errors import ErrorBodySerializer


class PolicyRefOut(serializers.Serializer):
    id = serializers.IntegerField(allow_null=True)
    name = serializers.CharField()
    version = serializers.IntegerField(allow_null=True)


class DecisionOut(ModelSerializer):
    policy = serializers.SerializerMethodField()
    fulfillment_orders = serializers.SerializerMethodField()
    estimated_cost = serializers.DecimalField(max_digits=12, decimal_places=2, coerce_to_string=True)
    destination = serializers.SerializerMethodField()
    strategies = serializers.SerializerMethodField()
    nodes = serializers.SerializerMethodField()
    rejected_nodes = serializers.SerializerMethodField()
    lines = serializers.SerializerMethodField()
    plan = serializers.SerializerMethodField()
    notes = serializers.SerializerMethodField()
    races = serializers.SerializerMethodField()

    class Meta:
        model = RoutingDecision
        fields = [
            "id", "created_at", "trigger", "outcome", "explanation", "policy", "strategy", "duration_ms",
            "shipments", "estimated_cost", "promise_met", "mean_distance_km", "races_lost", "fulfillment_orders",
            "destination", "strategies", "nodes", "rejected_nodes", "lines", "plan", "notes", "races",
        ]  # fmt: skip

    @extend_schema_field(PolicyRefOut)
    def get_policy(self, d: RoutingDecision) -> dict[str, Any]:
        version = d.policy_version
        if version is None:
            return {"id": None, "name": d.policy_label, "version": None}
        return {"id": version.policy_id, "name": version.policy.name, "version": version.number}

    def get_fulfillment_orders(self, d: RoutingDecision) -> list[int]:
        return [fo.pk for fo in getattr(d, "created_fulfillment_orders", [])]

    def _detail(self, d: RoutingDecision, key: str, default: Any) -> Any:
        return (d.details or {}).get(key, default)

    def get_destination(self, d: RoutingDecision) -> dict[str, Any]:
        return self._detail(d, "destination", {})

    def get_strategies(self, d: RoutingDecision) -> list[dict[str, Any]]:
        return self._detail(d, "strategies", [])

    def get_nodes(self, d: RoutingDecision) -> dict[str, Any]:
        """Every candidate node: its factor values, score and rank."""
        return self._detail(d, "nodes", {})

    def get_rejected_nodes(self, d: RoutingDecision) -> list[dict[str, str]]:
        return self._detail(d, "rejected_nodes", [])

    def get_lines(self, d: RoutingDecision) -> list[dict[str, Any]]:
        """Per line: its candidates, the nodes rejected with their reason, what was placed."""
        return self._detail(d, "lines", [])

    def get_plan(self, d: RoutingDecision) -> list[dict[str, Any]]:
        return self._detail(d, "plan", [])

    def get_notes(self, d: RoutingDecision) -> list[str]:
        return self._detail(d, "notes", [])

    def get_races(self, d: RoutingDecision) -> list[dict[str, Any]]:
        return self._detail(d, "races", [])


class OrderRoutingOut(serializers.Serializer):
    order = serializers.CharField()
    status = serializers.CharField()
    promise_date = serializers.DateField(allow_null=True)
    decisions = DecisionOut(many=True)


class OrderRoutingView(MerchantAPIView):
    @extend_schema(
        operation_id="orders_routing",
        responses={200: OrderRoutingOut, 404: ErrorBodySerializer},
        description="Every routing decision of the order, oldest first: the policy version, each "
        "candidate node with its factor values and score, every rejected node with its reason, the "
        "chosen plan, the time it took, and one sentence in words.",
    )
    def get(self, request: Request, number: str) -> Response:
        order, decisions = order_routing(merchant=self.merchant, number=number)
        body = {"order": order.number, "status": order.status, "promise_date": order.promise_date,
                "decisions": decisions}  # fmt: skip
        return Response(OrderRoutingOut(body).data)
