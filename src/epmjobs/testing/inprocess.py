"""A synchronous httpx transport onto an ASGI app running in this process, no socket.

``httpx.ASGITransport`` is asynchronous; our client (and most test code) is not. This
transport runs the app on an event loop of its own, in a background thread, and hands
each request over to it: the app then behaves as under a real server (its long polls
sleep on that loop while the test's thread waits), and any number of threads may use
the transport at once.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

import httpx
from starlette.types import ASGIApp

T = TypeVar("T")


class LoopThread:
    """An asyncio event loop running in a daemon thread until ``close``."""

    def __init__(self, name: str = "epmjobs-asgi") -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()

    def close(self) -> None:
        if self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()


class InProcessTransport(httpx.BaseTransport):
    """Serves httpx requests with ``app`` on ``loop``; see the module docstring."""

    def __init__(self, app: ASGIApp, loop: LoopThread) -> None:
        self._asgi = httpx.ASGITransport(app=app)
        self._loop = loop

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        status, headers, content = self._loop.run(self._serve(request, body))
        return httpx.Response(status, headers=headers, content=content, request=request)

    async def _serve(self, request: httpx.Request,
                     body: bytes) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        inner = httpx.Request(request.method, request.url, headers=request.headers,
                              content=body)
        response = await self._asgi.handle_async_request(inner)
        content = b"".join([chunk async for chunk in response.stream])  # type: ignore[union-attr]
        return response.status_code, response.headers.raw, content
