from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ErrorDetail, ValidationError
from rest_framework.pagination import PageNumberPagination


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_size(self, request: Any) -> int:
        """A page_size that is not a whole number from 1 to max_page_size is refused (400), not
        silently replaced by the default."""
        values = request.query_params.getlist(self.page_size_query_param)
        if not values:
            return self.page_size
        value = values[-1]
        if len(values) > 1 or not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= self.max_page_size:
            message = f"Must be one whole number from 1 to {self.max_page_size}."
            raise ValidationError({self.page_size_query_param: [ErrorDetail(message, code="invalid")]})
        return int(value)
