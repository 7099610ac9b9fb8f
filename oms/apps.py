from django.apps import AppConfig
from django.db.models.signals import post_migrate


class OmsConfig(AppConfig):
    name = "oms"
    verbose_name = "Operations"

    def ready(self) -> None:
        from oms import checks  # noqa: F401  (registers the deploy checks)
        from oms.permissions import ensure_groups

        post_migrate.connect(ensure_groups, dispatch_uid="oms.ensure_groups")
