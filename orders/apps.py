from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"

    def ready(self) -> None:
        # Tasks and outbox consumers (the worker must know them by name).
        from orders import receivers, tasks  # noqa: F401
        from orders.chain import Step, chain_step_register
        from orders.channels import checks as channel_checks  # noqa: F401
        from orders.channels import consumers as channel_consumers
        from orders.channels import tasks as channel_tasks  # noqa: F401
        from orders.models import OrderStatus
        from orders.payments import tasks as payment_tasks  # noqa: F401
        from orders.payments.services import order_advance_step, orders_advance_due

        channel_consumers.register()
        # The chain's first step: the payment rule (ready, or capture first).
        chain_step_register(
            statuses=[OrderStatus.VALIDATED], step=Step("payment rule", order_advance_step, orders_advance_due)
        )
