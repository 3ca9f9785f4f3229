"""The control API's outermost ASGI layer: injected faults, and the request recorder.

Installed by ``create_app`` only when the control API is on, outside the poll fast path,
so faults and recordings cover the status poll too. With no fault pending and the
recorder off, a request costs two attribute tests here.
"""

from __future__ import annotations

import asyncio
import time

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from epmjobs.testing.faults import (
    MAINTENANCE_TEXT,
    TOKEN_EXPIRED_TEXT,
    Fault,
    FaultKind,
    Faults,
)
from epmjobs.testing.recorder import Exchange, Recorder

_CHALLENGE = b'Basic realm="epmjobs", charset="UTF-8"'


class ControlMiddleware:
    def __init__(self, app: ASGIApp, faults: Faults, recorder: Recorder,
                 control_root: str) -> None:
        self.app = app
        self.faults = faults
        self.recorder = recorder
        self.control_root = control_root

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (not self.faults.active and not self.recorder.on):
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path.startswith(self.control_root):
            await self.app(scope, receive, send)
            return
        if self.recorder.on:
            await self._recorded(scope, receive, send)
        else:
            await self._served(scope, receive, send)

    async def _served(self, scope: Scope, receive: Receive, send: Send) -> None:
        fault = self.faults.take(scope["method"], scope["path"])
        if fault is not None:
            if fault.kind is not FaultKind.DELAY:
                await _answer(fault, send)
                return
            await asyncio.sleep(fault.seconds)
        await self.app(scope, receive, send)

    async def _recorded(self, scope: Scope, receive: Receive, send: Send) -> None:
        exchange = Exchange(scope["method"], scope["path"],
                            scope.get("query_string", b"").decode("latin-1"),
                            list(scope.get("headers", [])))
        began = time.perf_counter()

        async def receive_recorded() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                exchange.add_request_body(message.get("body", b""))
            return message

        kept = False

        def keep() -> None:
            nonlocal kept
            if not kept:
                kept = True
                exchange.elapsed = time.perf_counter() - began
                self.recorder.keep(exchange)

        declared: int | None = None

        async def send_recorded(message: Message) -> None:
            nonlocal declared
            if message["type"] == "http.response.start":
                exchange.status = message["status"]
                exchange.response_headers = list(message.get("headers", []))
                declared = _content_length(exchange.response_headers)
            elif message["type"] == "http.response.body":
                exchange.add_response_body(message.get("body", b""))
                # Kept before the last byte leaves: a client that reads the recording
                # right after its answer must find the exchange in it. With a declared
                # length the client is done at that byte, which a streamed answer sends
                # before its closing empty message.
                if not message.get("more_body", False) or (
                        declared is not None and exchange.response_size >= declared):
                    keep()
            await send(message)

        try:
            await self._served(scope, receive_recorded, send_recorded)
        finally:
            keep()


def _content_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    for name, value in headers:
        if name.lower() == b"content-length" and value.isdigit():
            return int(value)
    return None


async def _answer(fault: Fault, send: Send) -> None:
    """A 503 as in a maintenance window, or a 401 as for an expired token."""
    if fault.kind is FaultKind.MAINTENANCE:
        status, text = 503, MAINTENANCE_TEXT
        headers = ([] if fault.retry_after is None
                   else [(b"retry-after", str(fault.retry_after).encode())])
    else:
        status, text = 401, TOKEN_EXPIRED_TEXT
        headers = [(b"www-authenticate", _CHALLENGE)]
    body = orjson.dumps({"detail": text, "status": status})
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        *headers]})
    await send({"type": "http.response.body", "body": body})
