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
from django.db import IntegrityError, models, transaction
from django.db.models import F
from django.db.models.signals import m2m_changed, post_delete, post_save

from oms.models import CacheVersion

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

_caches: dict[str, ProcessCache] = {}  # type: ignore[type-arg]
_seen: dict[str, int] = {}
_checked_at = float("-inf")


class ProcessCache(Generic[K, V]):
    """`get(key)` loads through `load(key)` once per process until the cache is invalidated:
    by a save or delete of any of `invalidated_by` (signals), or by `cache_invalidate(name)`
    where rows change without signals (queryset updates). What `load` returns is shared: treat
    it as read-only."""

    def __init__(self, name: str, load: Callable[[K], V], *, invalidated_by: tuple[type[models.Model], ...] = ()):
        self.name = name
        self._load = load
        self._data: dict[K, V] = {}
        # Set while this process has an uncommitted change: it reads around the cache, so it
        # never keeps what its own transaction may yet roll back.
        self.changing = False
        _caches[name] = self
        for model in invalidated_by:
            uid = f"process-cache:{name}:{model._meta.label}"
            post_save.connect(self._changed, sender=model, dispatch_uid=uid, weak=False)
            post_delete.connect(self._changed, sender=model, dispatch_uid=uid, weak=False)
            for field in model._meta.local_many_to_many:  # e.g. a node joining a merchant
                m2m_changed.connect(self._changed, sender=field.remote_field.through, dispatch_uid=uid, weak=False)

    def _changed(self, **_: object) -> None:
        cache_invalidate(self.name)

    def get(self, key: K) -> V:
        caches_check()  # at most once every OMS_CACHE_CHECK_SECONDS: usually no query
        if self.changing:
            return self._load(key)
        try:
            return self._data[key]
        except KeyError:
            value = self._data[key] = self._load(key)
            return value

    def clear(self) -> None:
        self._data.clear()

    def committed(self) -> None:
        self.changing = False
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
        cache.changing = True
        transaction.on_commit(cache.committed)


def caches_reset() -> None:
    """Forget every cached value and pending change, as a fresh process would (tests)."""
    global _checked_at
    for cache in _caches.values():
        cache.committed()
    _seen.clear()
    _checked_at = float("-inf")
