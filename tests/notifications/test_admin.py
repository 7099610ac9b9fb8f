"""The admin pages of notifications: previews, the e-mail log on the order, the webhook log and replay."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from notifications.messages import MESSAGES
from notifications.models import EmailLog, NotificationSettings, WebhookDelivery, WebhookSubscription
from oms.permissions import ADMIN, CSR
from orders.models import Order
from tests.factories import (
    EmailLogFactory,
    NotificationSettingsFactory,
    UserFactory,
    WebhookAttemptFactory,
    WebhookSubscriptionFactory,
)
from tests.payments.helpers import body

pytestmark = pytest.mark.django_db


def user_in(group: str):
    user = UserFactory(username=f"{group.lower()}-user")
    user.groups.add(Group.objects.get(name=group))
    return user


def test_the_preview_page_renders_every_message_with_sample_data(client, api):
    NotificationSettingsFactory(merchant=api.merchant, sender_name="Acme Outfitters", primary_colour="#0b6e4f")
    client.force_login(user_in(ADMIN))
    page = client.get(reverse("admin:notifications_emaillog_preview") + f"?merchant={api.merchant.pk}")
    assert page.status_code == 200
    html = page.content.decode()
    for message in MESSAGES.values():
        assert message.title in html
    assert "Your order DEMO-000123 is on its way" in html
    assert "Acme Outfitters" in html
    one = client.get(reverse("admin:notifications_emaillog_preview_one", args=["return_authorized"]))
    assert "Print your return label" in one.content.decode()
    text = client.get(reverse("admin:notifications_emaillog_preview_one", args=["delivered"]) + "?part=text")
    assert text["Content-Type"].startswith("text/plain")
    assert "delivered by UPS" in text.content.decode()


def test_the_order_page_shows_its_e_mails_and_webhooks(client, api, run_commits, endpoint):
    WebhookSubscriptionFactory(merchant=api.merchant, url=endpoint.url, event_types=["order.validated"])
    response = run_commits(api.client.post, "/api/v1/orders/", body(), format="json")
    order = Order.objects.get(number=response.json()["number"])
    client.force_login(user_in(CSR))
    page = client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    assert 'id="card-e-mails"' in page
    assert "Order confirmation" in page
    assert "ana@example.com" in page
    assert 'id="card-webhooks"' in page
    assert endpoint.url in page
    log = EmailLog.objects.get(order=order)
    detail = client.get(reverse("admin:notifications_emaillog_change", args=[log.pk]))
    assert detail.status_code == 200
    assert "srcdoc=" in detail.content.decode()


def test_a_csr_reads_the_webhook_log_and_replays_a_delivery(client, api, run_commits, endpoint):
    WebhookSubscriptionFactory(merchant=api.merchant, url=endpoint.url, event_types=["order.validated"])
    run_commits(api.client.post, "/api/v1/orders/", body(), format="json")
    delivery = WebhookDelivery.objects.get()
    WebhookAttemptFactory(delivery=delivery, number=9, status_code=504, duration_ms=731)
    client.force_login(user_in(CSR))
    assert client.get(reverse("admin:notifications_webhookdelivery_changelist")).status_code == 200
    page = client.get(reverse("admin:notifications_webhookdelivery_change", args=[delivery.pk])).content.decode()
    assert "Replay this delivery" in page
    assert "731" in page
    response = run_commits(client.post, reverse("admin:notifications_webhookdelivery_replay", args=[delivery.pk]))
    assert response.status_code == 302
    replay = WebhookDelivery.objects.get(replay_of=delivery)
    assert replay.status == "succeeded"
    assert len(endpoint.requests) == 2


def test_switching_a_message_off_in_the_settings_form(client, api):
    client.force_login(user_in(ADMIN))
    form = {
        "merchant": api.merchant.pk,
        "primary_colour": "#1f3a5f",
        "accent_colour": "#e07a1f",
        "sent_messages": [key for key in MESSAGES if key != "delivered"],
    }
    response = client.post(reverse("admin:notifications_notificationsettings_add"), form)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert NotificationSettings.objects.get(merchant=api.merchant).disabled_messages == ["delivered"]


def test_adding_a_subscription_in_the_admin_goes_through_the_service(client, api):
    client.force_login(user_in(ADMIN))
    url = reverse("admin:notifications_webhooksubscription_add")
    bad = client.post(url, {"merchant": api.merchant.pk, "url": "https://x.example/h", "event_types_text": "order.x"})
    assert "Unknown event types: order.x" in bad.content.decode()
    response = client.post(
        url, {"merchant": api.merchant.pk, "url": "https://x.example/h", "event_types_text": "order.*, refund.issued"}
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    sub = WebhookSubscription.objects.get()
    assert (sub.event_types, sub.secret.startswith("whsec_")) == (["order.*", "refund.issued"], True)


def test_a_failed_e_mail_can_be_retried_from_the_log(client, api, smtp_server):
    log = EmailLogFactory(merchant=api.merchant, status="failed", attempts=10)
    client.force_login(user_in(CSR))
    response = client.post(
        reverse("admin:notifications_emaillog_changelist"), {"action": "retry", "_selected_action": [str(log.pk)]}
    )
    assert response.status_code == 302
    log.refresh_from_db()
    assert log.status in ("pending", "sent")
