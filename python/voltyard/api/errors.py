"""JSON error bodies: every failure of the API is `{"error": {"status", "code", "message", "details"}}`."""

from __future__ import annotations

from typing import Any

from aiohttp import web

__all__ = ["ApiError", "error_response"]


class ApiError(Exception):
    """An error the API answers with; raised by handlers, rendered by the error middleware."""

    def __init__(self, status: int, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}


def error_response(
    status: int,
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    body = {"error": {"status": status, "code": code, "message": message, "details": details or {}}}
    return web.json_response(body, status=status, headers=headers)
