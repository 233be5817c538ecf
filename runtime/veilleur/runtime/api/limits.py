"""Request body limits: an oversized upload is refused with 413 before it is read whole, and a
JSON body whose text cannot be stored (a lone UTF-16 surrogate such as ``"\\ud800"``, which JSON
allows but UTF-8 does not) is refused with 422 before any route sees it."""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEFAULT_MAX_BODY = 1 << 20  # 1 MiB: every JSON body of the API fits with room to spare

# a JSON escape of a UTF-16 surrogate (\ud800 … \udfff): paired ones are fine, lone ones are not
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
LONE_SURROGATE_DETAIL = (
    "texte invalide : caractère de substitution UTF-16 isolé (\\ud800 … \\udfff) refusé"
)


class BodyTooLarge(Exception):
    pass


def _is_json(scope: Scope) -> bool:
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            media = value.split(b";", 1)[0].strip().lower()
            return bool(media == b"application/json" or media.endswith(b"+json"))
    return False


def has_lone_surrogate(body: bytes) -> bool:
    """True when ``body`` is JSON whose decoded text holds a lone surrogate (not encodable in
    UTF-8, so neither storable nor auditable). Bodies that are not JSON are left to the route."""
    if not _SURROGATE_ESCAPE.search(body):
        return False
    try:
        value: Any = json.loads(body)
    except (ValueError, RecursionError):
        return False  # not JSON: the route answers 422 itself
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    except RecursionError:
        return False
    return False


class BodySizeLimit:
    """Pure ASGI middleware: checks ``Content-Length``, then reads the body (at most
    ``max_bytes``, chunked or not) before the route does; JSON bodies are checked for lone
    surrogates."""

    def __init__(self, app: ASGIApp, max_bytes: int = DEFAULT_MAX_BODY) -> None:
        self.app = app
        self.max_bytes = max_bytes

    @staticmethod
    async def _answer(send: Send, status: int, detail: str) -> None:
        body = json.dumps({"detail": detail}, ensure_ascii=False).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def _refuse(self, send: Send) -> None:
        await self._answer(
            send, 413, f"corps de requête trop volumineux (au plus {self.max_bytes} octets)"
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            # a length that is not a plain count (negative, signed, exponent…) is refused too
            if name == b"content-length" and (
                not value.strip().isdigit() or int(value) > self.max_bytes
            ):
                await self._refuse(send)
                return
        seen = 0

        async def counted_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge
            return message

        # read the (bounded) body whole before the route: a route that parses it would turn
        # BodyTooLarge into its own 400, and a JSON body is checked for lone surrogates first
        chunks: list[bytes] = []
        last: Message = {"type": "http.request", "body": b"", "more_body": False}
        try:
            while True:
                last = await counted_receive()
                if last["type"] != "http.request":
                    break
                chunks.append(last.get("body", b""))
                if not last.get("more_body", False):
                    break
        except BodyTooLarge:
            await self._refuse(send)
            return
        body = b"".join(chunks)
        if _is_json(scope) and has_lone_surrogate(body):
            await self._answer(send, 422, LONE_SURROGATE_DETAIL)
            return
        pending: list[Message] = [
            {"type": "http.request", "body": body, "more_body": False}
            if last["type"] == "http.request"
            else last
        ]

        async def replay() -> Message:
            if pending:
                return pending.pop()
            return await receive()

        await self.app(scope, replay, send)
