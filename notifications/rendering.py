"""Render a customer message: subject, plain text and HTML with its CSS inlined for mail clients."""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.utils import formataddr, parseaddr
from typing import Any

import css_inline
from django.conf import settings
from django.template import Context, Template
from django.template.loader import render_to_string

from notifications.messages import Message
from notifications.models import NotificationSettings
from oms.models import Merchant

# Remote stylesheets are never fetched: rendering must not reach the network.
_INLINER = css_inline.CSSInliner(keep_style_tags=True, load_remote_stylesheets=False)
_BLANK_RUNS = re.compile(r"\n{3,}")


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def branding(merchant: Merchant, prefs: NotificationSettings | None) -> dict[str, Any]:
    prefs = prefs or NotificationSettings(merchant=merchant)
    return {
        "name": prefs.sender_name or merchant.name,
        "logo_url": prefs.logo_url,
        "primary_colour": prefs.primary_colour,
        "accent_colour": prefs.accent_colour,
        "footer_text": prefs.footer_text,
        "support_url": prefs.support_url,
        "reply_to": prefs.reply_to,
    }


def sender(merchant: Merchant, prefs: NotificationSettings | None) -> str:
    """The From header: the merchant's address, or the site's with the merchant's name."""
    _, default_address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    name = (prefs.sender_name if prefs else "") or merchant.name
    address = (prefs.sender_email if prefs else "") or default_address
    return formataddr((name, address))


def render(message: Message, context: dict[str, Any]) -> Rendered:
    """Render `message` with `context` (order, brand and the message's own data)."""
    subject = Template(message.subject).render(Context(context, autoescape=False))
    subject = " ".join(subject.split())[:300]
    context = {**context, "subject": subject}
    text = render_to_string(f"emails/{message.key}.txt", context)
    text = _BLANK_RUNS.sub("\n\n", "\n".join(line.rstrip() for line in text.strip().splitlines())) + "\n"
    html = _INLINER.inline(render_to_string(f"emails/{message.key}.html", context))
    return Rendered(subject=subject, text=text, html=html)
