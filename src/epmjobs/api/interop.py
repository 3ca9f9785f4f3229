"""Wire shapes of Oracle's Migration ("interop") REST API (reference §6).

Its envelope differs from Planning's: ``{"status", "details", "items", "links"}`` with
``status`` 0 for success, -1 in progress and > 0 for failure, and links that carry
``"data": null``.
"""

from __future__ import annotations

from typing import Any

from epmjobs.storage.files import FileInfo

INTEROP_ROOT = "/interop/rest"
INTEROP_VERSIONS = ("11.1.2.3.600", "v1", "v2", "v3")
LATEST = "11.1.2.3.600"


def link(rel: str, href: str, action: str = "GET") -> dict[str, Any]:
    return {"rel": rel, "href": href, "action": action, "data": None}


def envelope(self_href: str, action: str = "GET", *, status: int = 0,
             details: str | None = None, items: Any = None,
             with_items: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {"status": status, "details": details}
    if with_items:
        body["items"] = items
    body["links"] = [link("self", self_href, action)]
    return body


def version_item(base: str, version: str) -> dict[str, Any]:
    return {"latest": version == LATEST, "lifecycle": "active", "version": version,
            "links": [link("self", f"{base}{INTEROP_ROOT}/{version}")]}


def versions(base: str) -> dict[str, Any]:
    return envelope(f"{base}{INTEROP_ROOT}/{LATEST}", with_items=True,
                    items=[version_item(base, v) for v in INTEROP_VERSIONS])


def file_item(info: FileInfo) -> dict[str, Any]:
    return {"name": info.name, "type": "EXTERNAL", "size": str(info.size),
            "lastmodifiedtime": str(int(info.modified * 1000))}


def file_list(files: list[FileInfo], self_href: str) -> dict[str, Any]:
    return envelope(self_href, with_items=True, items=[file_item(f) for f in files])
