from typing import Any

from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate


def _groups_after_migrate(app_config: AppConfig, **kwargs: Any) -> None:
    # post_migrate fires once per app; by the last one every app's permissions exist.
    if app_config is list(apps.get_app_configs())[-1]:
        from oms.permissions import ensure_groups

        ensure_groups()


class OmsConfig(AppConfig):
    name = "oms"
    verbose_name = "Operations"

    def ready(self) -> None:
        from oms import checks  # noqa: F401  (registers the deploy checks)

        post_migrate.connect(_groups_after_migrate, dispatch_uid="oms.ensure_groups")
