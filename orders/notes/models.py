"""CSR notes: what a colleague should know about a customer or one of their orders."""

from __future__ import annotations

from django.conf import settings
from django.db import models

__all__ = ["Note"]


class Note(models.Model):
    customer = models.ForeignKey("orders.Customer", on_delete=models.CASCADE, related_name="csr_notes")
    # Set when the note is about one order; it then shows in that order's timeline too.
    order = models.ForeignKey("orders.Order", null=True, blank=True, on_delete=models.CASCADE, related_name="csr_notes")
    text = models.TextField()
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    author_label = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["customer", "-created_at"], name="note_customer_recent")]

    def __str__(self) -> str:
        return f"Note on {self.order or self.customer} by {self.author_label}"
