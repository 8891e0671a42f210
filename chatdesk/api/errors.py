"""OpenAI-style error objects and the HTTP status each failure gets.

Every error the API returns is ``{"error": {"message", "type", "param", "code"}}`` with a
fitting status: 400 for a malformed body or bad values, 401 for a missing or wrong API
key, 404 for an unknown model or route, 413 for a body over the limit, 503 when no model
is loaded, 500 when the engine fails. The official ``openai`` client turns these into
its ``BadRequestError``, ``AuthenticationError``, ``NotFoundError``... classes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from chatdesk.engine.types import EngineError, ErrorCode

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    404: "not_found_error",
    405: "invalid_request_error",
    413: "invalid_request_error",
    503: "service_unavailable",
}
UNION_BRANCHES = {"str", "int", "float", "bool", "dict", "list", "none"}  # pydantic's tags
ENGINE_STATUS = {
    ErrorCode.NO_MODEL: 503,
    ErrorCode.MESSAGE_TOO_LONG: 400,
    ErrorCode.TEMPLATE: 400,
    ErrorCode.BAD_REQUEST: 400,
    ErrorCode.UNSUPPORTED: 400,
}


class ApiError(Exception):
    """A failure answered with an OpenAI-style error object."""

    def __init__(
        self, status: int, message: str, param: str | None = None, code: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.code = code


def error_body(
    status: int, message: str, param: str | None = None, code: str | None = None
) -> dict[str, Any]:
    """The JSON body of an error."""
    kind = ERROR_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def error_response(
    status: int, message: str, param: str | None = None, code: str | None = None
) -> JSONResponse:
    """An error answer."""
    return JSONResponse(error_body(status, message, param, code), status_code=status)


def engine_api_error(error: EngineError) -> ApiError:
    """An engine failure as an API error with the right status."""
    return ApiError(
        ENGINE_STATUS.get(error.code, 500), error.message.splitlines()[0], code=error.code
    )


def describe_validation(error: RequestValidationError) -> tuple[str, str | None]:
    """The first validation problem in words, and the parameter it is about."""
    problems = error.errors()
    if not problems:
        return "invalid request body", None
    first = problems[0]
    if first.get("type") == "json_invalid":
        return "the request body is not valid JSON", None
    param = _param(first.get("loc", ()))
    message = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
    return (f"{param}: {message}" if param else message), param


def _param(location: Sequence[int | str]) -> str | None:
    """A problem's place as a client names it (``messages[0].content``): the body's fields
    and list indexes, without pydantic's names for the branches of a union
    (``function-after[valid_unicode(), str]``, ``list[TextPart]``, ``str``)."""
    param = ""
    for part in location:
        if isinstance(part, int):
            param += f"[{part}]"
        elif part != "body" and part.isidentifier() and part not in UNION_BRANCHES:
            param += f".{part}" if param else part
    return param or None


async def validation_handler(request: Request, error: Exception) -> JSONResponse:
    """400 for a body that is not valid JSON or has wrong types or values."""
    del request
    assert isinstance(error, RequestValidationError)
    message, param = describe_validation(error)
    return error_response(400, message, param, "invalid_request")


async def http_error_handler(request: Request, error: Exception) -> JSONResponse:
    """Starlette's HTTP errors (unknown route, wrong method) as error objects."""
    del request
    assert isinstance(error, StarletteHTTPException)
    return error_response(error.status_code, str(error.detail))


async def api_error_handler(request: Request, error: Exception) -> JSONResponse:
    """``ApiError`` as its error object."""
    del request
    assert isinstance(error, ApiError)
    return error_response(error.status, error.message, error.param, error.code)
