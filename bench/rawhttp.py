"""A minimal HTTP/1.1 keep-alive client on asyncio streams, for load generation.

httpx costs the benchmark's own process more CPU per request than the server spends on
a status poll, and on a 2-core machine the client and the server share the cores; this
client is a few lines of bytes in, bytes out, so the figures describe the server.
It speaks just what the benches send: GET and POST with a JSON body, Content-Length
answers (chunked ones too, for safety), one request at a time per connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any


class HttpError(Exception):
    pass


class Connection:
    def __init__(self, host: str, port: int, authorization: str) -> None:
        self.host, self.port = host, port
        self._fixed = (f"Host: {host}:{port}\r\nAuthorization: {authorization}\r\n"
                       "User-Agent: epmjobs-bench\r\n").encode()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def _open(self) -> None:
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)

    async def request(self, method: str, path: str,
                      body: bytes | None = None) -> tuple[int, bytes]:
        if self._writer is None:
            await self._open()
        assert self._reader is not None and self._writer is not None
        head = f"{method} {path} HTTP/1.1\r\n".encode() + self._fixed
        if body is not None:
            head += (f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
                     ).encode()
        self._writer.write(head + b"\r\n" + (body or b""))
        status_line = await self._reader.readline()
        if not status_line:
            await self.close()
            raise HttpError("connection closed by the server")
        status = int(status_line.split(b" ", 2)[1])
        length, chunked, keep = -1, False, True
        while True:
            line = await self._reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
            elif name == b"connection" and b"close" in value.lower():
                keep = False
        if chunked:
            data = await self._chunked()
        elif length >= 0:
            data = await self._reader.readexactly(length)
        else:
            data = await self._reader.read()
            keep = False
        if not keep:
            await self.close()
        return status, data

    async def _chunked(self) -> bytes:
        assert self._reader is not None
        parts = []
        while True:
            size = int((await self._reader.readline()).split(b";")[0], 16)
            if size == 0:
                await self._reader.readline()
                return b"".join(parts)
            parts.append(await self._reader.readexactly(size))
            await self._reader.readline()

    async def get_json(self, path: str) -> tuple[int, Any]:
        status, data = await self.request("GET", path)
        return status, json.loads(data) if data else None

    async def post_json(self, path: str, payload: Any) -> tuple[int, Any]:
        status, data = await self.request("POST", path, json.dumps(payload).encode())
        return status, json.loads(data) if data else None

    async def close(self) -> None:
        writer, self._writer, self._reader = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
