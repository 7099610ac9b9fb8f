"""Fraud screening: rules scored right after validation, before any payment is captured."""
