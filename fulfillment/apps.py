from django.apps import AppConfig


class FulfillmentConfig(AppConfig):
    name = "fulfillment"
    verbose_name = "Fulfilment"

    def ready(self) -> None:
        from fulfillment import chain, tasks  # noqa: F401  (task names for the worker)
        from fulfillment.execution import messages  # noqa: F401  (messages to integrated nodes)
        from fulfillment.execution.hooks import on_order_cancel
        from fulfillment.routing.hooks import register as register_routing
        from orders.services.cancel import register_cancel_hook

        register_cancel_hook(on_order_cancel)
        chain.register()  # allocation and release: the order chain's steps after the payment rule
        register_routing()  # routing's outbox consumers and the order API's allocations

        from fulfillment.api.serializers import order_fulfillment_orders
        from orders.api.outputs import ORDER_OUTPUT_SECTIONS

        # The order body shows its fulfilment orders, pending cancellations and shipments.
        ORDER_OUTPUT_SECTIONS["fulfillment_orders"] = order_fulfillment_orders

        from fulfillment.carriers.estimator import rate_card_estimator
        from fulfillment.routing.costs import register_estimator_factory

        # Routing's cost factor now prices lanes from the carrier rate cards.
        register_estimator_factory(rate_card_estimator)

        from fulfillment.selectors import shipment_tracking_matches
        from orders.search import ORDER_SEARCH_MATCHERS

        # Order search finds an order by (a part of) one of its tracking numbers.
        ORDER_SEARCH_MATCHERS.append(shipment_tracking_matches)
