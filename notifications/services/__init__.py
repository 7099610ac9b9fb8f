"""Notification use cases: customer e-mails (emails.py) and merchant webhooks (webhooks.py)."""
