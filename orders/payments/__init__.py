"""Payments: gateway adapters (a working sandbox by default), capture, void, refund, re-auth."""
