"""Local HTTP servers speaking the Shopify and WooCommerce wire formats for the calls the OMS makes:
paging (Link page_info / X-WP-TotalPages), auth headers, the call-limit header, 429 with
Retry-After, and the push endpoints. Real sockets, real HTTP: no client is mocked."""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

SHOPIFY_VERSION = "2024-10"
EPOCH = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # an aborted connection (the injected crash) is expected


class PlatformServer:
    """Records every request; subclasses answer them. `fail` queues injected faults."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.faults: list[Callable[[BaseHTTPRequestHandler, str], bool]] = []
        self.stalls: list[threading.Event] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                server.requests.append(
                    {"method": self.command, "path": parts.path, "query": query, "headers": dict(self.headers),
                     "json": json.loads(body) if body else None}
                )  # fmt: skip
                for fault in list(server.faults):
                    if fault(self, parts.path):
                        server.faults.remove(fault)
                        return
                status, headers, payload = server.answer(self.command, parts.path, query, self.headers, body)
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", headers.pop("Content-Type", "application/json"))
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = _handle  # noqa: N815 - the http.server API

            def log_message(self, *args: Any) -> None:
                pass

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def answer(self, method: str, path: str, query: dict[str, str], headers: Any, body: bytes) -> tuple:
        raise NotImplementedError

    def close(self) -> None:
        for release in self.stalls:
            release.set()
        self.server.shutdown()
        self.server.server_close()

    def calls(self, method: str, pattern: str) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["method"] == method and re.fullmatch(pattern, r["path"])]

    # Injected faults ----------------------------------------------------------------------

    def throttle_once(self, retry_after: float = 1) -> None:
        """The next request answers 429 with Retry-After."""

        def fault(handler: BaseHTTPRequestHandler, path: str) -> bool:
            handler.send_response(429)
            handler.send_header("Retry-After", str(retry_after))
            handler.send_header("Content-Length", "2")
            handler.end_headers()
            handler.wfile.write(b"{}")
            return True

        self.faults.append(fault)

    def fail_once(self, status: int = 503) -> None:
        """The next request answers with this error status."""

        def fault(handler: BaseHTTPRequestHandler, path: str) -> bool:
            handler.send_response(status)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return True

        self.faults.append(fault)

    def drop_connection_on(self, predicate: Callable[[dict[str, Any]], bool]) -> None:
        """Close the socket without an answer (a crash mid-run) on the first request matching."""

        def fault(handler: BaseHTTPRequestHandler, path: str) -> bool:
            if not predicate(self.requests[-1]):
                return False
            handler.close_connection = True
            handler.connection.shutdown(2)
            return True

        self.faults.append(fault)

    def stall_on(self, predicate: Callable[[dict[str, Any]], bool]) -> tuple[threading.Event, threading.Event]:
        """Hold the first request matching without an answer: `reached` is set when it arrives;
        once `release` is set its connection is closed unanswered (the caller was killed meanwhile)."""
        reached, release = threading.Event(), threading.Event()
        self.stalls.append(release)

        def fault(handler: BaseHTTPRequestHandler, path: str) -> bool:
            if not predicate(self.requests[-1]):
                return False
            reached.set()
            release.wait(timeout=600)
            handler.close_connection = True
            return True

        self.faults.append(fault)
        return reached, release


def shopify_order(number: int, *, sku: str = "TSHIRT-RED-M", quantity: int = 1, **extra: Any) -> dict[str, Any]:
    """A Shopify order as the REST Admin API sends it (the fields the OMS reads, and some it ignores)."""
    order_id = 5_600_000_000_000 + number  # ids past 2^53: exact only if never read as floats
    updated = EPOCH + timedelta(minutes=number)
    order = {
        "id": order_id,
        "admin_graphql_api_id": f"gid://shopify/Order/{order_id}",
        "name": f"#{1000 + number}",
        "email": f"buyer{number}@example.com",
        "created_at": (updated - timedelta(minutes=5)).isoformat(),
        "updated_at": updated.isoformat(),
        "cancelled_at": None,
        "currency": "USD",
        "financial_status": "paid",
        "taxes_included": False,
        "total_price": "0",
        "note": None,
        "tags": "vip, imported",
        "customer": {"id": 7_200_000_000_000 + number, "email": f"buyer{number}@example.com",
                     "first_name": "Ada", "last_name": "Lovelace", "phone": None},
        "shipping_address": {"first_name": "Ada", "last_name": "Lovelace", "address1": "1 Main St",
                             "address2": "", "city": "Springfield", "province_code": "IL", "zip": "62701",
                             "country_code": "US", "phone": "+1 217 555 0100", "latitude": 39.8},
        "billing_address": {"first_name": "Ada", "last_name": "Lovelace", "address1": "1 Main St",
                            "city": "Springfield", "province_code": "IL", "zip": "62701", "country_code": "US"},
        "line_items": [
            {"id": 13_000_000_000_000 + number, "variant_id": 44_000_000_000_001, "product_id": 8_000_000_000_001,
             "sku": sku, "quantity": quantity, "current_quantity": quantity, "fulfillable_quantity": quantity,
             "price": "20.00", "total_discount": "0.00",
             "discount_allocations": [{"amount": "2.00", "discount_application_index": 0}],
             "tax_lines": [{"price": "1.44", "rate": 0.08, "title": "IL State Tax"}],
             "properties": [], "vendor": "Acme"}
        ],
        "shipping_lines": [{"code": "standard", "title": "Standard", "price": "5.00",
                            "discount_allocations": [], "tax_lines": [{"price": "0.40", "rate": 0.08}]}],
        "unknown_future_field": {"nested": [1, 2, 3]},
    }  # fmt: skip
    order.update(extra)
    order["total_price"] = order.get("total_price") if extra.get("total_price") else _shopify_total(order)
    return order


def _shopify_total(order: dict[str, Any]) -> str:
    from decimal import Decimal

    total = Decimal(0)
    for item in order["line_items"]:
        total += Decimal(item["price"]) * item["quantity"]
        total -= sum((Decimal(a["amount"]) for a in item["discount_allocations"]), Decimal(0))
        total += sum((Decimal(t["price"]) for t in item["tax_lines"]), Decimal(0))
    for line in order["shipping_lines"]:
        total += Decimal(line["price"]) + sum((Decimal(t["price"]) for t in line["tax_lines"]), Decimal(0))
    return str(total)


class ShopifyServer(PlatformServer):
    """GET orders.json paged by Link page_info; the push endpoints record what they receive."""

    def __init__(self, orders: list[dict[str, Any]] | None = None, token: str = "shpat_test") -> None:
        self.orders = orders or []
        self.token = token
        self.calls_made = 0
        self.bucket_size = 40
        self.bucket_used = 1  # what X-Shopify-Shop-Api-Call-Limit reports
        self.refuse_inventory = False
        self.products: list[dict[str, Any]] = []
        self.refunds: dict[int, list[dict[str, Any]]] = {}  # order id -> refunds created
        self.extra_transactions: dict[int, list[dict[str, Any]]] = {}
        super().__init__()

    def transactions_of(self, order: dict[str, Any]) -> list[dict[str, Any]]:
        """The order's sale (its total, taken at checkout; an authorization if only authorized) and
        the transactions made against it since."""
        kind = "authorization" if order["financial_status"] == "authorized" else "sale"
        sale = {"id": order["id"] + 3, "order_id": order["id"], "kind": kind, "gateway": "shopify_payments",
                "status": "success", "amount": order["total_price"], "currency": order["currency"],
                "parent_id": None}  # fmt: skip
        return [sale, *self.extra_transactions.get(order["id"], [])]

    def _capture(self, order: dict[str, Any], txn: dict[str, Any], limit: dict[str, str]) -> tuple:
        """A capture names the authorization it takes, within what is left of it."""
        from decimal import Decimal

        known = {t["id"]: t for t in self.transactions_of(order)}
        parent = known.get(txn.get("parent_id"))
        if txn.get("kind") != "capture" or parent is None or parent["kind"] != "authorization":
            return 422, limit, {"errors": {"parent_id": ["must be an authorization of the order"]}}
        taken = sum((Decimal(t["amount"]) for t in known.values() if t["parent_id"] == parent["id"]), Decimal(0))
        if Decimal(txn["amount"]) > Decimal(parent["amount"]) - taken:
            return 422, limit, {"errors": {"amount": ["exceeds the authorized amount"]}}
        made = {**txn, "id": order["id"] + 100 + len(known), "status": "success"}
        self.extra_transactions.setdefault(order["id"], []).append(made)
        return 201, limit, {"transaction": made}

    def _refund(self, order: dict[str, Any], refund: dict[str, Any], limit: dict[str, str]) -> tuple:
        """Shopify's checks: a refund transaction names its parent (a successful sale or capture)
        and stays within what is left of it; a refund line item is an open line item of the order."""
        from decimal import Decimal

        known = {t["id"]: t for t in self.transactions_of(order)}
        made = []
        for txn in refund.get("transactions") or []:
            parent = known.get(txn.get("parent_id"))
            if txn.get("kind") != "refund" or parent is None or parent["kind"] not in ("sale", "capture"):
                return 422, limit, {"errors": {"transactions": ["parent_id must be a sale or capture of the order"]}}
            left = Decimal(parent["amount"]) - sum(
                (Decimal(t["amount"]) for t in known.values() if t["parent_id"] == parent["id"]), Decimal(0)
            )
            if Decimal(txn["amount"]) > left:
                return 422, limit, {"errors": {"transactions": [f"amount exceeds the refundable {left}"]}}
            made.append({**txn, "id": order["id"] + 100 + len(known) + len(made), "status": "success"})
        items = {item["id"]: item for item in order["line_items"]}
        for line in refund.get("refund_line_items") or []:
            item = items.get(line.get("line_item_id"))
            if item is None or line["quantity"] > item.get("fulfillable_quantity", item["quantity"]):
                return 422, limit, {"errors": {"refund_line_items": ["quantity exceeds the fulfillable quantity"]}}
            if line.get("restock_type") not in ("no_restock", "cancel", "return"):
                return 422, limit, {"errors": {"restock_type": ["is not included in the list"]}}
        for line in refund.get("refund_line_items") or []:
            item = items[line["line_item_id"]]
            item["fulfillable_quantity"] = item.get("fulfillable_quantity", item["quantity"]) - line["quantity"]
        self.extra_transactions.setdefault(order["id"], []).extend(made)
        self.refunds.setdefault(order["id"], []).append(refund)
        return 201, limit, {"refund": {"id": len(self.refunds[order["id"]]), **refund, "transactions": made}}

    def _path(self, resource: str) -> str:
        return f"/admin/api/{SHOPIFY_VERSION}/{resource}"

    def answer(self, method: str, path: str, query: dict[str, str], headers: Any, body: bytes) -> tuple:
        if headers.get("X-Shopify-Access-Token") != self.token:
            return 401, {}, {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}
        limit = {"X-Shopify-Shop-Api-Call-Limit": f"{self.bucket_used}/{self.bucket_size}"}
        if method == "GET" and path == self._path("orders.json"):
            return self._orders(query, limit)
        if method == "GET" and path == self._path("products.json"):
            return 200, limit, {"products": self.products}
        found = re.fullmatch(self._path(r"orders/(\d+)/fulfillment_orders\.json"), path)
        if method == "GET" and found:
            order = next(o for o in self.orders if str(o["id"]) == found.group(1))
            items = [{"id": item["id"] + 1, "line_item_id": item["id"], "variant_id": item["variant_id"],
                      "quantity": item["quantity"], "fulfillable_quantity": item["quantity"]}
                     for item in order["line_items"]]  # fmt: skip
            return 200, limit, {"fulfillment_orders": [{"id": order["id"] + 7, "status": "open", "line_items": items}]}
        if method == "POST" and path == self._path("fulfillments.json"):
            return 201, limit, {"fulfillment": {"id": 1, "status": "success"}}
        if method == "POST" and path == self._path("inventory_levels/set.json"):
            if self.refuse_inventory:
                return 422, limit, {"errors": ["Inventory item does not have inventory tracking enabled"]}
            data = json.loads(body)
            return 200, limit, {"inventory_level": {**data, "updated_at": datetime.now(UTC).isoformat()}}
        found = re.fullmatch(self._path(r"orders/(\d+)(\.json|/transactions\.json|/refunds\.json)"), path)
        order = next((o for o in self.orders if found and str(o["id"]) == found.group(1)), None)
        if method == "GET" and order and found.group(2) == ".json":
            return 200, limit, {"order": order}
        if method == "GET" and order and found.group(2) == "/transactions.json":
            return 200, limit, {"transactions": self.transactions_of(order)}
        if method == "POST" and order and found.group(2) == "/transactions.json":
            return self._capture(order, json.loads(body)["transaction"], limit)
        if method == "POST" and order and found.group(2) == "/refunds.json":
            return self._refund(order, json.loads(body)["refund"], limit)
        if method == "POST" and re.fullmatch(self._path(r"orders/\d+/cancel\.json"), path):
            return 200, limit, {}
        return 404, {}, {"errors": "Not Found"}

    def _orders(self, query: dict[str, str], limit_header: dict[str, str]) -> tuple:
        if "page_info" in query:
            if set(query) - {"page_info", "limit", "fields"}:
                return 400, {}, {"errors": {"page_info": ["Filters cannot be combined with page_info"]}}
            state = json.loads(base64.urlsafe_b64decode(query["page_info"]))
        else:
            state = {"min": query.get("updated_at_min"), "offset": 0}
        limit = int(query.get("limit", 50))
        floor = datetime.fromisoformat(state["min"]) if state["min"] else None
        chosen = sorted(
            (o for o in self.orders if floor is None or datetime.fromisoformat(o["updated_at"]) >= floor),
            key=lambda o: (o["updated_at"], o["id"]),
        )
        page = chosen[state["offset"] : state["offset"] + limit]
        headers = dict(limit_header)
        if state["offset"] + limit < len(chosen):
            token = base64.urlsafe_b64encode(
                json.dumps({"min": state["min"], "offset": state["offset"] + limit}).encode()
            ).decode()
            following = f"{self.url}{self._path('orders.json')}?{urlencode({'limit': limit, 'page_info': token})}"
            headers["Link"] = f'<{following}>; rel="next"'
        return 200, headers, {"orders": page}


def woo_order(number: int, **extra: Any) -> dict[str, Any]:
    """A WooCommerce v3 order: a variable product's variation, a 10% coupon, state and county tax."""
    modified = EPOCH + timedelta(minutes=number)
    order = {
        "id": 700 + number,
        "parent_id": 0,
        "number": str(700 + number),
        "order_key": f"wc_order_{number}",
        "status": "processing",
        "currency": "USD",
        "prices_include_tax": False,
        "date_created_gmt": (modified - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S"),
        "date_modified_gmt": modified.strftime("%Y-%m-%dT%H:%M:%S"),
        "discount_total": "4.00",
        "shipping_total": "5.00",
        "total_tax": "3.69",
        "total": "44.69",
        "customer_note": "Leave at the door",
        "billing": {"first_name": "Grace", "last_name": "Hopper", "address_1": "2 Oak Ave", "address_2": "",
                    "city": "Springfield", "state": "IL", "postcode": "62701", "country": "US",
                    "email": f"grace{number}@example.com", "phone": "(217) 555-0101"},
        "shipping": {"first_name": "Grace", "last_name": "Hopper", "address_1": "2 Oak Ave", "address_2": "",
                     "city": "Springfield", "state": "IL", "postcode": "62701", "country": "US"},
        "line_items": [
            {"id": 9000 + number, "name": "T-shirt - Red, M", "product_id": 93, "variation_id": 101,
             "quantity": 2, "tax_class": "", "subtotal": "40.00", "subtotal_tax": "3.60", "total": "36.00",
             "total_tax": "3.24", "taxes": [{"id": 1, "total": "2.88", "subtotal": "3.20"},
                                            {"id": 2, "total": "0.36", "subtotal": "0.40"}],
             "meta_data": [{"key": "pa_size", "value": "M"}], "sku": "TSHIRT-RED-M", "price": 18}
        ],
        "tax_lines": [
            {"id": 31, "rate_code": "US-IL-STATE-1", "rate_id": 1, "label": "State", "compound": False,
             "tax_total": "2.88", "shipping_tax_total": "0.40"},
            {"id": 32, "rate_code": "US-IL-COUNTY-2", "rate_id": 2, "label": "County", "compound": False,
             "tax_total": "0.36", "shipping_tax_total": "0.05"},
        ],
        "shipping_lines": [{"id": 41, "method_title": "Flat rate", "method_id": "flat_rate", "total": "5.00",
                            "total_tax": "0.45", "taxes": [{"id": 1, "total": "0.40"}, {"id": 2, "total": "0.05"}]}],
        "fee_lines": [],
        "coupon_lines": [{"id": 51, "code": "save10", "discount": "4.00", "discount_tax": "0.36"}],
        "_links": {"self": [{"href": "https://shop.example/wp-json/wc/v3/orders/701"}]},
    }  # fmt: skip
    order.update(extra)
    return order


class WooServer(PlatformServer):
    """GET orders paged by page/per_page with X-WP-TotalPages; basic auth; the push endpoints."""

    API = "/wp-json/wc/v3"

    def __init__(self, orders: list[dict[str, Any]] | None = None) -> None:
        self.orders = orders or []
        self.key, self.secret = "ck_test", "cs_test"
        self.products: list[dict[str, Any]] = []
        self.variations: dict[int, list[dict[str, Any]]] = {}
        super().__init__()

    def answer(self, method: str, path: str, query: dict[str, str], headers: Any, body: bytes) -> tuple:
        expected = "Basic " + base64.b64encode(f"{self.key}:{self.secret}".encode()).decode()
        if headers.get("Authorization") != expected:
            return 401, {}, {"code": "woocommerce_rest_cannot_view", "message": "Sorry, you cannot list resources."}
        if method == "GET" and path == f"{self.API}/orders":
            floor = query.get("modified_after")
            chosen = sorted(
                (o for o in self.orders if not floor or o["date_modified_gmt"] > floor),
                key=lambda o: (o["date_modified_gmt"], o["id"]),
            )
            per_page, page = int(query.get("per_page", 10)), int(query.get("page", 1))
            pages = max(1, -(-len(chosen) // per_page))
            headers = {"X-WP-Total": str(len(chosen)), "X-WP-TotalPages": str(pages)}
            return 200, headers, chosen[(page - 1) * per_page : page * per_page]
        if method == "GET" and path == f"{self.API}/products":
            return 200, {"X-WP-TotalPages": "1"}, self.products
        found = re.fullmatch(rf"{self.API}/products/(\d+)/variations", path)
        if method == "GET" and found:
            return 200, {"X-WP-TotalPages": "1"}, self.variations.get(int(found.group(1)), [])
        if method == "POST" and re.fullmatch(rf"{self.API}/products(/\d+/variations)?/batch", path):
            return 200, {}, {"update": json.loads(body)["update"]}
        found = re.fullmatch(rf"{self.API}/orders/(\d+)", path)
        order = next((o for o in self.orders if found and str(o["id"]) == found.group(1)), None)
        if method == "GET" and order:
            return 200, {}, order
        if method == "PUT" and order:  # a status, or line items' quantities and totals by id
            change = json.loads(body)
            items = {item["id"]: item for item in order["line_items"]}
            if any(line.get("id") not in items for line in change.get("line_items", [])):
                message = "Order item ID provided is not associated with order."
                return 400, {}, {"code": "woocommerce_rest_invalid_item_id", "message": message}
            for line in change.get("line_items", []):
                items[line["id"]].update(line)
            order.update({k: v for k, v in change.items() if k != "line_items"})
            return 200, {}, order
        if method == "POST" and re.fullmatch(rf"{self.API}/orders/\d+/refunds", path):
            refund = json.loads(body)
            if float(refund.get("amount") or 0) < 0:  # Woo refuses a negative amount only
                error = {"code": "woocommerce_rest_invalid_order_refund", "message": "Refund amount must be > 0."}
                return 400, {}, error
            return 201, {}, {"id": 1, **refund}
        if re.fullmatch(rf"{self.API}/orders/\d+(/notes|/refunds)?", path) and method in ("POST", "PUT"):
            return (201 if method == "POST" else 200), {}, {"id": 1}
        return 404, {}, {"code": "rest_no_route", "message": "No route was found matching the URL and request method."}


class FeedServer(PlatformServer):
    """A URL serving a CSV (or JSON) file of order lines."""

    def __init__(self, content: str = "", content_type: str = "text/csv") -> None:
        self.content, self.content_type = content, content_type
        super().__init__()

    def answer(self, method: str, path: str, query: dict[str, str], headers: Any, body: bytes) -> tuple:
        if headers.get("Authorization") != "Bearer feed-token":
            return 401, {}, {"error": "unauthorized"}
        return 200, {"Content-Type": self.content_type}, self.content.encode()
