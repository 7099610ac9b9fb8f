from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"

    def ready(self) -> None:
        from notifications import consumers
        from oms.permissions import CSR, GROUPS

        consumers.register()
        # CSRs read the e-mail and webhook logs, retry e-mails and replay webhook deliveries.
        for spec in ("notifications.view_*", "notifications.change_emaillog", "notifications.change_webhookdelivery"):
            if spec not in GROUPS[CSR]:
                GROUPS[CSR].append(spec)
