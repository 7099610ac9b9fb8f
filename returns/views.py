"""The customer's return label: the signed link in the return-authorized e-mail (no login)."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse

from returns.services.requests import label_for_token


def return_label(request: HttpRequest, token: str) -> HttpResponse:
    rma = label_for_token(token)
    if rma is None:
        raise Http404("No such return label.")
    response = HttpResponse(bytes(rma.label_pdf), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{rma.number}-label.pdf"'
    return response
