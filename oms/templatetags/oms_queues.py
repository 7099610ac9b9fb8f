"""The exception queues' sizes on the admin index."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone

from oms.exception_queues import exception_counts

register = template.Library()


@register.simple_tag(takes_context=True)
def exception_queue_counts(context: dict[str, Any]) -> dict[str, int] | None:
    request = context["request"]
    if not request.user.has_perm("oms.view_opsexception"):
        return None
    return exception_counts(user=request.user, now=timezone.now())
