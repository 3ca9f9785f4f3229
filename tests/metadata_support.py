"""Helpers for the metadata-job tests: uploads through the interop API, submissions through
the Planning API, exact JSON with types, ZIPs, and outline snapshots."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

from conftest import ADMIN
from epmjobs.planning.outline import outline_to_json
from epmjobs.storage.outlinestore import REFRESHED, WORKING, OutlineStore
from epmjobs.system import System

BASE = "http://epm.test"
SNAP = "/interop/rest/11.1.2.3.600/applicationsnapshots"


def jobs_path(app: str = "Vision") -> str:
    return f"/HyperionPlanning/rest/v3/applications/{app}/jobs"


def job_url(job_id: int, app: str = "Vision") -> str:
    return f"{BASE}{jobs_path(app)}/{job_id}"


def assert_wire(actual: Any, expected: Any, path: str = "$") -> None:
    """Equal JSON, and equal JSON types all the way down (an int is not a bool)."""
    assert actual == expected
    _same_types(actual, expected, path)


def _same_types(actual: Any, expected: Any, path: str) -> None:
    assert type(actual) is type(expected), f"{path}: {type(actual).__name__}"
    if isinstance(expected, dict):
        for key in expected:
            _same_types(actual[key], expected[key], f"{path}.{key}")
    elif isinstance(expected, list):
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            _same_types(a, e, f"{path}[{i}]")


def upload(client: Any, name: str, data: bytes) -> None:
    """One-chunk upload through Oracle's file API (``inbox/x`` goes into the inbox)."""
    q = json.dumps({"isFirst": True, "isLast": True, "chunkSize": len(data)})
    answer = client.post(f"{SNAP}/{name.replace('/', '%2F')}/contents", params={"q": q},
                         content=data, auth=ADMIN,
                         headers={"Content-Type": "application/octet-stream"})
    assert answer.status_code == 200 and answer.json()["status"] == 0, answer.text


def download(client: Any, name: str) -> bytes:
    answer = client.get(f"{SNAP}/{name.replace('/', '%2F')}/contents", auth=ADMIN)
    assert answer.headers["content-type"] == "application/octet-stream", answer.text
    return bytes(answer.content)


def file_names(client: Any) -> list[str]:
    return [i["name"] for i in client.get(SNAP, auth=ADMIN).json()["items"]]


def zip_bytes(entries: dict[str, bytes | str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data.encode() if isinstance(data, str) else data)
    return buffer.getvalue()


def read_zip(data: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {n: zf.read(n).decode("utf-8") for n in zf.namelist()}


def submit(client: Any, body: dict[str, Any], app: str = "Vision") -> int:
    answer = client.post(jobs_path(app), auth=ADMIN, json=body)
    assert answer.status_code == 201, answer.text
    return int(answer.json()["jobId"])


def record(client: Any, job_id: int, app: str = "Vision") -> dict[str, Any]:
    return dict(client.get(f"{jobs_path(app)}/{job_id}", auth=ADMIN).json())


def details(client: Any, job_id: int, child: int | None = None, app: str = "Vision",
            **params: Any) -> dict[str, Any]:
    path = f"{jobs_path(app)}/{job_id}" + (f"/childjobs/{child}" if child else "") + "/details"
    return dict(client.get(path, auth=ADMIN, params=params).json())


def expected_record(job_id: int, name: str, status: int, details_text: str,
                    app: str = "Vision") -> dict[str, Any]:
    labels = {0: "Completed", 1: "Error", 3: "Cancelled", 4: "Invalid Parameter"}
    url = job_url(job_id, app)
    return {"status": status, "details": details_text, "jobId": job_id, "jobName": name,
            "descriptiveStatus": labels[status],
            "links": [{"rel": "self", "href": url, "action": "GET"},
                      {"rel": "job-details", "href": f"{url}/details", "action": "GET"}]}


def child_item(job_id: int, child: int, dimension: str, load_type: str, status: int,
               read: int, processed: int, rejected: int) -> dict[str, Any]:
    return {"childJobId": child, "dimensionName": dimension, "loadType": load_type,
            "status": status, "descriptiveStatus": "Completed" if status == 0 else "Error",
            "recordsRead": read, "recordsProcessed": processed, "recordsRejected": rejected,
            "links": [{"rel": "child-job-details",
                       "href": f"{job_url(job_id)}/childjobs/{child}/details",
                       "action": "GET"}]}


def page(items: list[dict[str, Any]], self_href: str, limit: int = 25) -> dict[str, Any]:
    return {"items": items, "offset": 0, "limit": limit, "count": len(items),
            "totalResults": len(items), "hasMore": False,
            "links": [{"rel": "self", "href": f"{self_href}?offset=0&limit={limit}",
                       "action": "GET"}]}


def message(msg_type: str, category: str, text: str,
            record_number: int | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {"msgType": msg_type, "msgCategory": category, "msgText": text}
    if record_number is not None:
        item["recordNumber"] = record_number
    return item


def snapshot(system: System, app_name: str = "Vision", stage: int = WORKING) -> dict[str, Any]:
    """The stored outline (read from the database, not from the cache) as its JSON form."""
    app = system.stores.apps.get(app_name)
    assert app is not None
    return outline_to_json(OutlineStore(system.db).load(app, stage).outline)


def both_stages(system: System, app_name: str = "Vision") -> tuple[Any, Any]:
    return snapshot(system, app_name, WORKING), snapshot(system, app_name, REFRESHED)
