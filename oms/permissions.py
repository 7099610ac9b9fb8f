"""The admin's groups and the permissions their jobs need.

Each entry is "app_label.codename", where the codename may end in `*` (every permission of
that app starting so) — e.g. "inventory.view_*". Every app's permissions are listed here.
`ensure_groups` runs after every migrate (oms.apps), so the groups always exist.
"""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.db.models import Q

CSR, WAREHOUSE, FINANCE, ADMIN = "CSR", "Warehouse", "Finance", "Admin"
# Approves appeasements, claims and refunds above a CSR's limit, up to the lead's limit
# (returns.services.approvals); Finance approves above that. Also approves releasing an address
# hold by override, which a CSR may only ask for (orders.services.holds).
CSR_LEAD = "CSR lead"
# Fulfilment orders and shipments with their tracking, read-only (CSR and Finance).
FULFILMENT_READ = [
    "fulfillment.view_fulfillmentorder", "fulfillment.view_fulfillmentorderline", "fulfillment.view_shipment",
    "fulfillment.view_shipmentline", "fulfillment.view_trackingevent", "fulfillment.view_routingdecision",
    "fulfillment.view_backorder",
]  # fmt: skip


def manage(app: str, model: str) -> list[str]:
    """Every permission (add, change, delete, view) on one model."""
    return [f"{app}.{action}_{model}" for action in ("add", "change", "delete", "view")]


GROUPS: dict[str, list[str]] = {
    CSR: [
        "orders.view_order", "orders.change_order", "orders.view_orderline", "orders.view_orderevent",
        "orders.view_hold", "orders.add_hold", "orders.change_hold",
        "orders.view_customer", "orders.change_customer", "orders.view_note", "orders.add_note", "orders.view_payment",
        "orders.view_paymenttransaction", "orders.view_refund", "orders.view_frauddecision",
        "orders.view_fraudsettings", *manage("orders", "denylistentry"),
        "oms.view_opsexception", "oms.change_opsexception", "oms.view_exceptionpolicy",
        "fulfillment.view_backorder", "fulfillment.view_routingdecision",
        "inventory.view_*",
        # e-mail and webhook logs; retry e-mails and replay webhook deliveries
        "notifications.view_*", "notifications.change_emaillog", "notifications.change_webhookdelivery",
        # returns, claims and appeasements (approval beyond the CSR limit: CSR lead, Finance)
        "returns.view_*", "returns.add_*", "returns.change_*",
        # channel sync: connections, run logs (rejected orders), webhooks and pushes
        "orders.view_channelconnection", "orders.view_syncrun", "orders.view_channelwebhook",
        "orders.view_channelpush", "orders.view_channelskumap",
        *FULFILMENT_READ,
    ],
    # What a fulfilment order needs (its page shows the ship-to and the lines): no order pages,
    # so no payment, fraud or e-mail data.
    WAREHOUSE: [
        "inventory.*", "fulfillment.*",
        "returns.view_return", "returns.change_return",  # receive and inspect
        "oms.view_opsexception", "oms.change_opsexception",
    ],
    FINANCE: [
        "orders.view_order", "orders.view_orderline", "orders.view_orderevent", "orders.view_customer",
        "orders.view_payment", "orders.change_payment",
        "orders.view_paymenttransaction", "orders.view_refund", "orders.view_sandboxledgerentry",
        "orders.view_frauddecision", *manage("orders", "merchantpaymentsettings"), *manage("orders", "taxrate"),
        *manage("orders", "taxsettings"),
        "returns.view_*", "returns.change_appeasement", "returns.change_claim", "returns.approve_any_amount",
        "oms.view_opsexception", "oms.change_opsexception",
        *FULFILMENT_READ,
    ],
    ADMIN: ["*"],
}  # fmt: skip
# A CSR lead can do what a CSR can, approve amounts up to the lead's limit and hold overrides.
GROUPS[CSR_LEAD] = [*GROUPS[CSR], "returns.approve_up_to_lead_limit", "orders.approve_hold_override"]
# Operations leaders: the KPI dashboard (with the exception/SLA part) and the orders, fulfilment
# orders and exceptions its figures drill down to.
OPERATIONS = "Operations"
GROUPS[OPERATIONS] = [
    "reports.view_kpis", "reports.view_exception_kpis", "reports.view_kpiday",
    "orders.view_order", "orders.view_orderline", "orders.view_orderevent",
    "fulfillment.view_fulfillmentorder", "fulfillment.view_shipment", "oms.view_opsexception",
]  # fmt: skip
# Finance closes the day from the finance and ERP exports.
GROUPS[FINANCE] += ["reports.view_finance_export", "reports.view_erprecord"]
# A CSR lead sees the exception and SLA part of the KPI dashboard.
GROUPS[CSR_LEAD] += ["reports.view_exception_kpis"]


def _query(spec: str) -> Q:
    app, _, codename = spec.partition(".")
    if codename.endswith("*"):
        return Q(content_type__app_label=app, codename__startswith=codename[:-1])
    return Q(content_type__app_label=app, codename=codename)


def ensure_groups() -> None:
    """Create or update each group with exactly its permissions."""
    for name, specs in GROUPS.items():
        group, _ = Group.objects.get_or_create(name=name)
        if "*" in specs:
            group.permissions.set(Permission.objects.all())
            continue
        query = Q(pk__in=[])
        for spec in specs:
            query |= _query(spec)
        group.permissions.set(Permission.objects.filter(query))
