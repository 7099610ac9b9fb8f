"""How many PostgreSQL connections are still free, and what each process's pool may take of them."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection

# Never promise a process more than this: web workers are single-threaded and a Celery pool
# process runs one task at a time, so a few connections each is plenty.
POOL_CEILING = 4


@dataclass(frozen=True)
class ServerRoom:
    max_connections: int
    reserved: int
    in_use: int

    @property
    def free(self) -> int:
        return max(0, self.max_connections - self.reserved - self.in_use)


def postgres_room() -> ServerRoom:
    """Read the server's limit, its superuser reserve and what every client holds right now."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('max_connections')::int,"
            " current_setting('superuser_reserved_connections')::int"
            # Only client backends count against max_connections (not the server's own workers).
            " + coalesce(current_setting('reserved_connections', true)::int, 0),"
            " (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')"
        )
        max_connections, reserved, in_use = cursor.fetchone()
    return ServerRoom(max_connections=max_connections, reserved=reserved, in_use=in_use)


def pool_size_for(*, processes: int, free: int) -> int:
    """The per-process pool size that keeps `processes` pools within `free` connections (0: none fits)."""
    return min(POOL_CEILING, free // max(1, processes))
