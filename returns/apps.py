from django.apps import AppConfig


class ReturnsConfig(AppConfig):
    name = "returns"

    def ready(self) -> None:
        # Fulfilment never imports returns: carrier events on a return label reach us by this hook.
        from fulfillment.tracking.services import register_tracking_hook
        from returns import receivers, tasks  # noqa: F401  (outbox consumers; task names for the worker)
        from returns.services.receiving import on_tracking_event

        register_tracking_hook(on_tracking_event)

        from fulfillment.execution.jobs import register_completion_blocker
        from returns.selectors import open_return_of

        # An order is not completed while one of its returns is still open.
        register_completion_blocker(open_return_of)

        from orders.api.outputs import ORDER_OUTPUT_SECTIONS
        from returns.api.serializers import order_returns

        # The order body shows its returns.
        ORDER_OUTPUT_SECTIONS["returns"] = order_returns
