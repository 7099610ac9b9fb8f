from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"

    def ready(self) -> None:
        # Payment and channel tasks and outbox consumers (the worker must know them by name).
        from orders.channels import checks as channel_checks  # noqa: F401
        from orders.channels import consumers as channel_consumers
        from orders.channels import tasks as channel_tasks  # noqa: F401
        from orders.payments import receivers, tasks  # noqa: F401

        channel_consumers.register()
