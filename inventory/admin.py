"""Inventory in the operations console: products, nodes, stock, the ledger, low stock, sync.

Stock quantities are never edited here: they change through the services (receipts, counts,
the CSV import), each with its ledger row. Only policy (safety stock, reorder threshold) is
editable on a stock row, and that too goes through a service.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join

from inventory.models import (
    ChannelRule,
    LowStock,
    Movement,
    Node,
    Product,
    Snapshot,
    StockAdjustment,
    StockLevel,
)
from inventory.selectors import atp_expression
from inventory.services import node_locate, stock_settings_update
from inventory.services.availability import availability_recheck
from inventory.services.csv_io import stock_export_csv, stock_import_csv
from oms.actors import Actor
from oms.forms import CardSafeModelForm


def _actor(request: HttpRequest) -> Actor:
    return Actor.user(request.user)  # type: ignore[arg-type]  # admin views require a logged-in user


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    form = CardSafeModelForm
    list_display = ["sku", "name", "merchant", "barcode", "tax_category", "active", "returnable", "hazmat"]
    list_filter = ["merchant", "active", "returnable", "ship_alone", "hazmat", "unit_of_measure"]
    search_fields = ["sku", "name", "barcode"]
    list_select_related = ["merchant"]
    readonly_fields = ["created_at", "updated_at", "stock_link"]

    @admin.display(description="stock")
    def stock_link(self, obj: Product) -> str:
        url = reverse("admin:inventory_stocklevel_changelist") + f"?product__id__exact={obj.pk}"
        return format_html('<a href="{}">Stock at every node</a>', url)


class NodeForm(CardSafeModelForm):
    capabilities = forms.MultipleChoiceField(
        choices=Node.Capability.choices, widget=forms.CheckboxSelectMultiple, required=False
    )

    class Meta:
        model = Node
        fields = "__all__"


@admin.register(Node)
class NodeAdmin(admin.ModelAdmin):
    form = NodeForm
    list_display = [
        "code",
        "name",
        "type",
        "owner",
        "capability_list",
        "daily_capacity",
        "cutoff",
        "latitude",
        "longitude",
        "geo_precision",
        "priority",
        "active",
        "stock_csv",
    ]
    list_filter = ["type", "active", "geo_precision", "merchants"]
    search_fields = ["code", "name", "city", "postal_code"]
    list_select_related = ["owner"]
    filter_horizontal = ["merchants"]
    readonly_fields = ["geo_precision", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["code", "name", "type", "owner", "merchants", "active", "priority", "tags"]}),
        (
            "Address",
            {"fields": ["line1", "city", "region", "postal_code", "country", "latitude", "longitude", "geo_precision"]},
        ),  # fmt: skip
        (
            "Fulfilment",
            {"fields": ["capabilities", "ships_to", "time_zone", "cutoff_time", "daily_capacity", "handling_cost"]},
        ),  # fmt: skip
        (None, {"fields": ["created_at", "updated_at"]}),
    ]

    @admin.display(description="capabilities")
    def capability_list(self, obj: Node) -> str:
        return ", ".join(obj.capabilities)

    @admin.display(description="cut-off")
    def cutoff(self, obj: Node) -> str:
        return f"{obj.cutoff_time:%H:%M} {obj.time_zone}" if obj.cutoff_time else "—"

    @admin.display(description="stock CSV")
    def stock_csv(self, obj: Node) -> str:
        return format_html(
            '<a href="{}">export</a> · <a href="{}">import</a>',
            reverse("admin:inventory_node_stock_export", args=[obj.pk]),
            reverse("admin:inventory_node_stock_import", args=[obj.pk]),
        )

    def save_model(self, request: HttpRequest, obj: Node, form: Any, change: bool) -> None:
        hand_set = {"latitude", "longitude"} & set(form.changed_data)
        if hand_set and obj.latitude is not None and obj.longitude is not None:
            obj.geo_precision = Node.GeoPrecision.MANUAL
        elif obj.latitude is None or obj.longitude is None or obj.geo_precision != Node.GeoPrecision.MANUAL:
            node_locate(obj)
        super().save_model(request, obj, form, change)
        availability_recheck(node_id=obj.pk)

    def get_urls(self) -> list[URLPattern]:
        own = [
            path(
                "<int:pk>/stock.csv",
                self.admin_site.admin_view(self.export_view),
                name="inventory_node_stock_export",
            ),
            path(
                "<int:pk>/stock-import/",
                self.admin_site.admin_view(self.import_view),
                name="inventory_node_stock_import",
            ),
        ]
        return own + super().get_urls()

    def export_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        node = get_object_or_404(Node, pk=pk)
        if not self.has_view_permission(request, node):
            raise PermissionError
        response = HttpResponse(stock_export_csv(node=node), content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="stock-{node.code}.csv"'
        return response

    def import_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        node = get_object_or_404(Node, pk=pk)
        if not request.user.has_perm("inventory.change_stocklevel"):
            messages.error(request, "You may not change stock.")
            return HttpResponseRedirect(reverse("admin:inventory_node_changelist"))
        form = StockImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            raw = form.cleaned_data["file"].read()
            try:
                text = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                form.add_error("file", "The file must be UTF-8 CSV.")
            else:
                result = stock_import_csv(node=node, text=text, actor=_actor(request))
                summary = (
                    f"{node.code}: {result.applied} count(s) applied, {result.unchanged} unchanged, "
                    f"{result.settings_changed} setting(s) changed"
                    + (f", {result.deallocated} reserved unit(s) de-allocated" if result.deallocated else "")
                    + "."
                )
                messages.success(request, summary)
                for line, message in result.errors[:50]:
                    messages.error(request, f"Line {line}: {message}")
                url = reverse("admin:inventory_stocklevel_changelist") + f"?node__id__exact={node.pk}"
                return HttpResponseRedirect(url)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Import stock into {node.code}",
            "node": node,
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/inventory/node/stock_import.html", context)


class StockImportForm(forms.Form):
    file = forms.FileField(
        help_text="CSV with columns merchant (optional if the node serves one merchant), sku, on_hand, "
        "and optionally safety_stock, reorder_threshold. on_hand is a count: the difference is a ledger "
        "count correction."
    )


class StockLevelForm(forms.ModelForm):
    class Meta:
        model = StockLevel
        fields = ["bin_location", "safety_stock", "reorder_threshold"]


class AtpColumn(admin.ModelAdmin):
    """An ATP column, computed and sortable in SQL."""

    def get_queryset(self, request: HttpRequest) -> QuerySet[StockLevel]:
        return super().get_queryset(request).annotate(atp=atp_expression())

    @admin.display(description="ATP", ordering="atp")
    def atp_display(self, obj: StockLevel) -> int:
        return obj.atp  # type: ignore[attr-defined]  # the annotation


@admin.register(StockLevel)
class StockLevelAdmin(AtpColumn):
    """Stock by SKU across nodes."""

    form = StockLevelForm
    list_display = [
        "sku",
        "product_name",
        "node",
        "node_type",
        "on_hand",
        "allocated",
        "safety_stock",
        "atp_display",
        "reorder_threshold",
        "low_stock",
        "ledger",
    ]
    list_filter = ["low_stock", "node__type", "node", "product__merchant"]
    search_fields = ["product__sku", "product__name", "product__barcode", "node__code"]
    list_select_related = ["product", "node"]
    readonly_fields = ["product", "node", "on_hand", "allocated", "atp_display", "low_stock", "updated_at", "ledger"]
    fields = ["product", "node", "bin_location", "on_hand", "allocated", "safety_stock", "atp_display",
              "reorder_threshold", "low_stock", "updated_at", "ledger"]  # fmt: skip
    ordering = ["product__sku", "node__code"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # rows appear when stock is received or counted

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="SKU", ordering="product__sku")
    def sku(self, obj: StockLevel) -> str:
        return obj.product.sku

    @admin.display(description="name")
    def product_name(self, obj: StockLevel) -> str:
        return obj.product.name

    @admin.display(description="type", ordering="node__type")
    def node_type(self, obj: StockLevel) -> str:
        return obj.node.get_type_display()

    @admin.display(description="ledger")
    def ledger(self, obj: StockLevel) -> str:
        url = reverse("admin:inventory_movement_changelist") + f"?stock__id__exact={obj.pk}"
        return format_html('<a href="{}">movements</a>', url)

    def save_model(self, request: HttpRequest, obj: StockLevel, form: Any, change: bool) -> None:
        stock_settings_update(
            stock=obj,
            actor=_actor(request),
            safety_stock=form.cleaned_data["safety_stock"],
            reorder_threshold=form.cleaned_data["reorder_threshold"],
            bin_location=form.cleaned_data["bin_location"],
        )


@admin.register(LowStock)
class LowStockAdmin(AtpColumn, ReadOnly):
    """Stock rows whose ATP is below their reorder threshold (each also raised an exception)."""

    list_display = [
        "sku", "node", "on_hand", "allocated", "safety_stock", "atp_display", "reorder_threshold", "updated_at",
    ]  # fmt: skip
    list_filter = ["node__type", "node", "product__merchant"]
    search_fields = ["product__sku", "product__name", "node__code"]
    list_select_related = ["product", "node"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[StockLevel]:
        return super().get_queryset(request).filter(low_stock=True)

    @admin.display(description="SKU", ordering="product__sku")
    def sku(self, obj: StockLevel) -> str:
        return obj.product.sku

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("inventory.view_stocklevel")


@admin.register(Movement)
class MovementAdmin(ReadOnly):
    """The ledger: append-only, newest first."""

    list_display = ["created_at", "occurred_at", "sku", "node", "kind", "on_hand_delta", "allocated_delta",
                    "reference", "reason", "actor_label"]  # fmt: skip
    list_filter = ["kind", "stock__node", "stock__product__merchant", "actor_kind"]
    search_fields = ["stock__product__sku", "ref_id", "ref_type", "reason"]
    list_select_related = ["stock__product", "stock__node"]
    date_hierarchy = "created_at"
    ordering = ["-id"]

    @admin.display(description="SKU")
    def sku(self, obj: Movement) -> str:
        return obj.stock.product.sku

    @admin.display(description="node")
    def node(self, obj: Movement) -> str:
        return obj.stock.node.code

    @admin.display(description="reference")
    def reference(self, obj: Movement) -> str:
        return f"{obj.ref_type}:{obj.ref_id}" if obj.ref_type else "—"


@admin.register(Snapshot)
class SnapshotAdmin(ReadOnly):
    list_display = ["external_id", "merchant", "node", "as_of", "status", "progress_bar", "rows_applied",
                    "rows_rejected", "rows_zeroed", "created_at"]  # fmt: skip
    list_filter = ["status", "merchant", "node"]
    search_fields = ["external_id", "node__code"]
    list_select_related = ["merchant", "node"]
    readonly_fields = ["external_id", "merchant", "node", "as_of", "status", "progress_bar", "rows_total", "cursor",
                       "rows_applied", "rows_unchanged", "rows_rejected", "rows_zeroed", "rejection_table",
                       "shortfall_table", "actor_label", "created_at", "completed_at"]  # fmt: skip
    fields = readonly_fields  # type: ignore[assignment]  # the same names, shown read-only

    def get_queryset(self, request: HttpRequest) -> QuerySet[Snapshot]:
        return super().get_queryset(request).defer("counts")

    @admin.display(description="progress")
    def progress_bar(self, obj: Snapshot) -> str:
        pct = round(obj.progress * 100)
        return format_html(
            '<progress value="{}" max="100" title="{} of {} rows"></progress> {}%', pct, obj.cursor, obj.rows_total, pct
        )

    @admin.display(description="rejected rows (first 200)")
    def rejection_table(self, obj: Snapshot) -> str:
        if not obj.rejections:
            return "—"
        rows = format_html_join(
            "", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((r["row"], r.get("sku") or "", r["code"], r["message"]) for r in obj.rejections[:200]),
        )  # fmt: skip
        return format_html("<table><tr><th>row</th><th>SKU</th><th>code</th><th>why</th></tr>{}</table>", rows)

    @admin.display(description="shortfalls (reserved units de-allocated)")
    def shortfall_table(self, obj: Snapshot) -> str:
        if not obj.shortfalls:
            return "—"
        rows = format_html_join(
            "", "<tr><td>{}</td><td>{}</td></tr>", ((s["sku"], s["deallocated"]) for s in obj.shortfalls[:200])
        )
        note = "The affected references are named in the ledger and in each inventory_shortfall exception."
        return format_html("<table><tr><th>SKU</th><th>de-allocated</th></tr>{}</table><p>{}</p>", rows, note)


@admin.register(StockAdjustment)
class StockAdjustmentAdmin(ReadOnly):
    list_display = ["external_id", "merchant", "product", "node", "quantity", "reason", "actor_label", "created_at"]
    list_filter = ["reason", "merchant", "node"]
    search_fields = ["external_id", "product__sku"]
    list_select_related = ["merchant", "product", "node"]


@admin.register(ChannelRule)
class ChannelRuleAdmin(admin.ModelAdmin):
    list_display = ["channel", "buffer_type", "buffer_value", "node_types", "store_capabilities"]

    def save_model(self, request: HttpRequest, obj: ChannelRule, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        availability_recheck(merchant_id=obj.channel.merchant_id)

    list_filter = ["channel__merchant"]
    list_select_related = ["channel__merchant"]
