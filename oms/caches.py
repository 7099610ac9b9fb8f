"""Per-process caches of rows that rarely change (merchant settings, webhook subscriptions).

Each cache has a version row (`CacheVersion`). A change bumps it in the changing transaction
(`cache_invalidate`), and every process compares the versions before it trusts its copies:
the relay once per batch (`caches_check(force=True)`), a request at most once every
OMS_CACHE_CHECK_SECONDS. A process always checks before it loads, so a copy is never older
than the last check; the changing process drops its own copy as soon as it commits.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F

from oms.models import CacheVersion

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

_caches: dict[str, ProcessCache] = {}  # type: ignore[type-arg]
_seen: dict[str, int] = {}
_checked_at = float("-inf")


class ProcessCache(Generic[K, V]):
    """`get(key)` loads through `load(key)` once per process until the cache is invalidated."""

    def __init__(self, name: str, load: Callable[[K], V]) -> None:
        self.name = name
        self._load = load
        self._data: dict[K, V] = {}
        _caches[name] = self

    def get(self, key: K) -> V:
        try:
            return self._data[key]
        except KeyError:
            value = self._data[key] = self._load(key)
            return value

    def clear(self) -> None:
        self._data.clear()


def caches_check(*, force: bool = False) -> None:
    """Drop every cache whose version moved since this process last looked (one query)."""
    global _checked_at
    now = time.monotonic()
    if not force and now - _checked_at < settings.OMS_CACHE_CHECK_SECONDS:
        return
    versions = dict(CacheVersion.objects.values_list("name", "version"))
    for name, cache in _caches.items():
        version = versions.get(name, 0)
        if _seen.get(name) != version:
            cache.clear()
            _seen[name] = version
    _checked_at = now


def cache_invalidate(name: str) -> None:
    """Bump `name`'s version in the current transaction; every process reloads after commit."""
    if not CacheVersion.objects.filter(name=name).update(version=F("version") + 1):
        try:
            with transaction.atomic():
                CacheVersion.objects.create(name=name, version=1)
        except IntegrityError:  # created concurrently: bump that one
            CacheVersion.objects.filter(name=name).update(version=F("version") + 1)
    cache = _caches.get(name)
    if cache is not None:
        transaction.on_commit(cache.clear)
