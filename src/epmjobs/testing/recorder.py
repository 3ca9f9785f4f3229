"""The request recorder: every request and answer on the served paths, while it is on.

A recording is a JSON document (``epmjobs-recording/1``) that users turn into fixtures of
their own (canned answers for an offline mock, or a check of what their script sent).
Credentials never enter it: ``Authorization`` keeps its scheme only. Control calls are
not recorded. Bodies are kept as JSON when they are JSON, as text when they are UTF-8, else
in base64; a body over ``MAX_BODY_BYTES`` keeps only its size. After ``MAX_ENTRIES`` the
recorder counts what it drops.
"""

from __future__ import annotations

import base64
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

FORMAT = "epmjobs-recording/1"
MAX_ENTRIES = 10_000
MAX_BODY_BYTES = 1 << 20


@dataclass
class Exchange:
    """One request and its answer, as they went over the wire."""

    method: str
    path: str
    query: str
    request_headers: list[tuple[bytes, bytes]]
    started: float = field(default_factory=time.time)
    request_body: bytearray = field(default_factory=bytearray)
    status: int = 0
    response_headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    response_body: bytearray = field(default_factory=bytearray)
    request_size: int = 0
    response_size: int = 0
    elapsed: float = 0.0

    def add_request_body(self, chunk: bytes) -> None:
        self.request_size += len(chunk)
        if self.request_size <= MAX_BODY_BYTES:
            self.request_body += chunk

    def add_response_body(self, chunk: bytes) -> None:
        self.response_size += len(chunk)
        if self.response_size <= MAX_BODY_BYTES:
            self.response_body += chunk

    def to_json(self) -> dict[str, Any]:
        return {
            "startedAt": datetime.fromtimestamp(self.started, UTC).isoformat(
                timespec="milliseconds").replace("+00:00", "Z"),
            "elapsedMs": round(self.elapsed * 1000, 3),
            "request": {"method": self.method, "path": self.path, "query": self.query,
                        "headers": _headers(self.request_headers),
                        **_body(self.request_body, self.request_size, self.request_headers)},
            "response": {"status": self.status, "headers": _headers(self.response_headers),
                         **_body(self.response_body, self.response_size,
                                 self.response_headers)},
        }


def _headers(raw: list[tuple[bytes, bytes]]) -> dict[str, str]:
    found: dict[str, str] = {}
    for key, value in raw:
        name, text = key.decode("latin-1").lower(), value.decode("latin-1")
        if name == "authorization":
            text = text.split(" ", 1)[0] + " <redacted>"
        found[name] = f"{found[name]}, {text}" if name in found else text
    return found


def _body(data: bytearray, size: int, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    if size == 0:
        return {}
    if size > MAX_BODY_BYTES:
        return {"bodyBytes": size, "truncated": True}
    kind = next((v.decode("latin-1") for k, v in headers if k.lower() == b"content-type"), "")
    if "json" in kind:
        try:
            return {"json": orjson.loads(data)}
        except orjson.JSONDecodeError:
            pass
    try:
        return {"text": data.decode("utf-8")}
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(bytes(data)).decode("ascii")}


class Recorder:
    """On or off; keeps what it recorded until it is started again or cleared."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.on = False
        self._entries: list[Exchange] = []
        self._dropped = 0

    def start(self) -> None:
        """Start a new recording (the previous one is discarded)."""
        with self._lock:
            self._entries, self._dropped, self.on = [], 0, True

    def stop(self) -> None:
        self.on = False

    def clear(self) -> None:
        with self._lock:
            self._entries, self._dropped, self.on = [], 0, False

    def keep(self, exchange: Exchange) -> None:
        with self._lock:
            if len(self._entries) < MAX_ENTRIES:
                self._entries.append(exchange)
            else:
                self._dropped += 1

    def count(self) -> int:
        return len(self._entries)

    def document(self) -> dict[str, Any]:
        with self._lock:
            entries, dropped, on = list(self._entries), self._dropped, self.on
        return {"format": FORMAT, "recording": on, "dropped": dropped,
                "entries": [e.to_json() for e in entries]}
