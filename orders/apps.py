from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"

    def ready(self) -> None:
        # Tasks and outbox consumers (the worker must know them by name).
        from oms.alerts import register_exception_resolver
        from orders import receivers, tasks  # noqa: F401
        from orders.chain import Step, chain_step_register
        from orders.channels import checks as channel_checks  # noqa: F401
        from orders.channels import consumers as channel_consumers
        from orders.channels import tasks as channel_tasks  # noqa: F401
        from orders.models import Hold, OrderStatus
        from orders.payments import tasks as payment_tasks  # noqa: F401
        from orders.payments.services import order_advance_step, orders_advance_due
        from orders.services.holds import hold_exception_resolve, hold_exception_type

        channel_consumers.register()
        # The chain's first step: the payment rule (ready, or capture first).
        chain_step_register(
            statuses=[OrderStatus.VALIDATED], step=Step("payment rule", order_advance_step, orders_advance_due)
        )
        # A hold and its exception are one piece of work: resolving the exception resolves the hold.
        for hold_type in Hold.Type.values:
            register_exception_resolver(hold_exception_type(hold_type), hold_exception_resolve)
