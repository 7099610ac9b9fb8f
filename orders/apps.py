from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"

    def ready(self) -> None:
        # Payment tasks and outbox consumers (the worker must know them by name).
        from orders.payments import receivers, tasks  # noqa: F401
