from __future__ import annotations

from django.apps import AppConfig


class BenchConfig(AppConfig):
    """Only in bench.settings: counts statements by step in each process of the deployment, and
    profiles it when asked (BENCH_PROFILE_DIR)."""

    name = "bench"

    def ready(self) -> None:
        from bench import profiling, statements

        statements.install_from_env()
        profiling.install_from_env()
