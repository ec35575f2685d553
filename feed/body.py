"""A feed request's body (SPEC section 9): its type, its size and its items, or a refusal
with the status and a sentence saying what to send instead.

Read by the feed itself, not through ``request.body`` (which refuses anything over the
forms' 2.5 MB, ``DATA_UPLOAD_MAX_MEMORY_SIZE``): a feed body may be 10 MB.
"""

from __future__ import annotations

import json

from django.http import HttpRequest

# Bodies up to 10 MB, batches of up to 10,000 items (SPEC section 9).
MAX_BODY_BYTES = 10 * 1024 * 1024
MAX_ITEMS = 10_000
JSON = "application/json"
NDJSON = "application/x-ndjson"


class BodyRefused(Exception):
    """The body can't be taken: ``status`` and a sentence with the fix."""

    def __init__(self, status: int, message: str):
        self.status = status
        self.message = message
        super().__init__(message)


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def _loads(text: str) -> object:
    """JSON as RFC 8259 has it: NaN and Infinity, which Python would take, are refused."""
    return json.loads(text, parse_constant=_refuse_constant)


def content_type(request: HttpRequest, *, accepted: tuple[str, ...]) -> str:
    """The request's media type, one of ``accepted``, in UTF-8; else 415."""
    media_type = (request.content_type or "").lower()
    charset = request.content_params.get("charset", "utf-8").lower() if request.content_params else "utf-8"
    if media_type not in accepted or charset not in ("utf-8", "utf8"):
        named = request.META.get("CONTENT_TYPE") or "none"
        raise BodyRefused(
            415,
            f"The body's Content-Type is {named[:100]}; send {' or '.join(accepted)} (UTF-8).",
        )
    return media_type


def body_read(request: HttpRequest) -> bytes:
    """The whole body, refused with 413 beyond ``MAX_BODY_BYTES``: by its Content-Length
    before a byte is read, else while reading."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    too_large = BodyRefused(
        413,
        f"The body is larger than {MAX_BODY_BYTES // (1024 * 1024)} MB; send at most {MAX_ITEMS:,} items "
        "in a request, and split larger batches.",
    )
    if length > MAX_BODY_BYTES:
        raise too_large
    body = request.read(MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        raise too_large
    return body


def body_items(body: bytes, media_type: str) -> list[object]:
    """The items of a JSON array, or of NDJSON's lines (one JSON value a line, blank lines
    skipped); 400 for anything else, 413 beyond ``MAX_ITEMS``."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BodyRefused(
            400, f"The body is not UTF-8 text (byte {exc.start + 1} can't be read); send it encoded as UTF-8."
        ) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    if media_type == NDJSON:
        items: list[object] = []
        for number, line in enumerate(text.split("\n"), start=1):
            if not line.strip():
                continue
            try:
                items.append(_loads(line))
            except (ValueError, RecursionError) as exc:
                raise BodyRefused(
                    400,
                    f"Line {number} of the NDJSON body is not JSON ({_reason(exc)}); write one JSON object a line.",
                ) from None
            if len(items) > MAX_ITEMS:
                break
    else:
        try:
            document = _loads(text)
        except (ValueError, RecursionError) as exc:
            raise BodyRefused(400, f"The body is not JSON ({_reason(exc)}); send a JSON array of objects.") from None
        if not isinstance(document, list):
            raise BodyRefused(
                400, "The body is a JSON value but not an array; send a JSON array of objects, e.g. [{...}, {...}]."
            )
        items = document
    if len(items) > MAX_ITEMS:
        raise BodyRefused(413, f"The batch has more than {MAX_ITEMS:,} items; send at most {MAX_ITEMS:,} in a request.")
    return items


def _reason(exc: Exception) -> str:
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at line {exc.lineno}, column {exc.colno}"
    return str(exc)[:200]
