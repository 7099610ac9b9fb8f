from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"

    def ready(self) -> None:
        # Payment and channel tasks and outbox consumers (the worker must know them by name).
        from oms.alerts import register_exception_resolver
        from orders.channels import checks as channel_checks  # noqa: F401
        from orders.channels import consumers as channel_consumers
        from orders.channels import tasks as channel_tasks  # noqa: F401
        from orders.models import Hold
        from orders.payments import receivers, tasks  # noqa: F401
        from orders.services.holds import hold_exception_resolve, hold_exception_type

        channel_consumers.register()
        # A hold and its exception are one piece of work: resolving the exception resolves the hold.
        for hold_type in Hold.Type.values:
            register_exception_resolver(hold_exception_type(hold_type), hold_exception_resolve)
