from __future__ import annotations

from django.apps import AppConfig


class BenchConfig(AppConfig):
    """Only in bench.settings: counts statements by step in each process of the deployment."""

    name = "bench"

    def ready(self) -> None:
        from bench.statements import install_from_env

        install_from_env()
