"""Errors that services raise and the API turns into ``application/problem+json`` answers.

Each error carries a stable machine ``code`` (clients branch on it) and a message that tells a person
what went wrong and what to do next.
"""

from __future__ import annotations

from typing import Any


class XuyenError(Exception):
    """Base of every expected error; ``status`` is the HTTP status it maps to."""

    status: int = 400
    default_code: str = "bad_request"
    title: str = "Bad request"

    def __init__(self, message: str, *, code: str | None = None, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.details = details or {}


class BadRequest(XuyenError):
    status, default_code, title = 400, "bad_request", "Bad request"


class Unauthorized(XuyenError):
    status, default_code, title = 401, "unauthorized", "Not signed in"


class PermissionDenied(XuyenError):
    status, default_code, title = 403, "permission_denied", "Not allowed"


class NotFound(XuyenError):
    status, default_code, title = 404, "not_found", "Not found"


class Conflict(XuyenError):
    status, default_code, title = 409, "conflict", "Conflict"


class PayloadTooLarge(XuyenError):
    status, default_code, title = 413, "payload_too_large", "Payload too large"


class ValidationFailed(XuyenError):
    status, default_code, title = 422, "validation_failed", "Validation failed"


class RateLimited(XuyenError):
    status, default_code, title = 429, "rate_limited", "Too many requests"

    def __init__(self, message: str, *, retry_after: int, code: str | None = None) -> None:
        super().__init__(message, code=code, details={"retry_after": retry_after})
        self.retry_after = retry_after


class ServiceUnavailable(XuyenError):
    status, default_code, title = 503, "unavailable", "Service unavailable"


class BadGateway(XuyenError):
    status, default_code, title = 502, "bad_gateway", "Bad gateway"
