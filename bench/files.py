"""bench/files: upload and download throughput of the file API, against nginx.

For each size (default 100 MiB and 1 GiB) a fresh ``epmjobs serve`` and an nginx with
WebDAV ``PUT`` run side by side on loopback. The same client code (httpx, streaming from
and to disk) uploads the file to epmjobs in Oracle's 50 MB chunks and to nginx in one
``PUT``, then downloads it from both; the figures are MB/s and the ratio epmjobs/nginx.
The server's peak RSS (VmHWM of every process of ``serve``) is read after each size, to
show that memory does not grow with the file.

    .venv/bin/python bench/files.py [--sizes 100M,1G] [--rounds 2]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import (
    ADMIN_PASSWORD,
    ADMIN_USER,
    BENCH_DIR,
    HOST,
    EpmServer,
    ensure_tools,
    free_port,
    log,
    tool,
    workdir,
)

CHUNK = 50 * 1024 * 1024
READ = 1 << 20
NGINX_DAV = """
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
user root;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/tmp_body;
    client_max_body_size 0;
    sendfile on;
    server {{
        listen {host}:{port};
        root {prefix}/www;
        location / {{ dav_methods PUT DELETE; create_full_put_path on; }}
    }}
}}
"""


def parse_size(text: str) -> int:
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    return int(text[:-1]) * units[text[-1].upper()] if text[-1].upper() in units else int(text)


def make_file(path: Path, size: int) -> None:
    block = os.urandom(READ)
    with path.open("wb") as out:
        for _ in range(size // READ):
            out.write(block)
        out.write(block[: size % READ])


def _file_pieces(path: Path, start: int, length: int):  # type: ignore[no-untyped-def]
    with path.open("rb") as handle:
        handle.seek(start)
        left = length
        while left > 0:
            piece = handle.read(min(READ, left))
            if not piece:
                return
            left -= len(piece)
            yield piece


def upload_epm(client: httpx.Client, base: str, path: Path, name: str) -> float:
    size = path.stat().st_size
    started = time.perf_counter()
    for offset in range(0, size, CHUNK):
        length = min(CHUNK, size - offset)
        q = json.dumps({"isFirst": offset == 0, "isLast": offset + length >= size,
                        "chunkSize": length, "fileSize": size})
        answer = client.post(
            f"{base}/interop/rest/11.1.2.3.600/applicationsnapshots/{name}/contents",
            params={"q": q}, content=_file_pieces(path, offset, length),
            headers={"Content-Type": "application/octet-stream",
                     "Content-Length": str(length)})
        if answer.json().get("status") != 0:
            raise RuntimeError(f"upload refused: {answer.text}")
    return time.perf_counter() - started


def upload_nginx(client: httpx.Client, base: str, path: Path, name: str) -> float:
    started = time.perf_counter()
    answer = client.put(f"{base}/{name}", content=_file_pieces(path, 0, path.stat().st_size),
                        headers={"Content-Length": str(path.stat().st_size)})
    if answer.status_code not in (201, 204):
        raise RuntimeError(f"nginx PUT failed: {answer.status_code}")
    return time.perf_counter() - started


def download(client: httpx.Client, url: str, expect: int) -> float:
    started = time.perf_counter()
    got = 0
    with client.stream("GET", url) as answer:
        for piece in answer.iter_bytes(READ):
            got += len(piece)
    if got != expect:
        raise RuntimeError(f"downloaded {got} bytes of {expect} from {url}")
    return time.perf_counter() - started


def peak_rss_mib(pids: list[int]) -> float:
    peak = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]))
        except OSError:
            continue
    return peak / 1024


def start_nginx(prefix: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    (prefix / "www").mkdir(parents=True, exist_ok=True)
    (prefix / "nginx.conf").write_text(NGINX_DAV.format(prefix=prefix, host=HOST, port=port))
    proc = subprocess.Popen([tool("nginx"), "-p", str(prefix), "-c", str(prefix / "nginx.conf"),
                             "-g", "daemon off;"], start_new_session=True)
    base = f"http://{HOST}:{port}"
    for _ in range(100):
        try:
            httpx.get(base + "/", timeout=1)
            return proc, base
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("nginx did not start")


def bench_size(size: int, rounds: int, work: Path) -> dict[str, float]:
    source = work / f"source-{size}"
    make_file(source, size)
    server = EpmServer(work / f"data-{size}", workers=1)
    server.start()
    nginx, nginx_base = start_nginx(work / f"nginx-{size}")
    figures: dict[str, list[float]] = {"epm_up": [], "nginx_up": [], "epm_down": [],
                                       "nginx_down": []}
    try:
        with httpx.Client(auth=(ADMIN_USER, ADMIN_PASSWORD), timeout=600) as client:
            for i in range(rounds):
                name = f"file{i}.bin"
                figures["epm_up"].append(upload_epm(client, server.base, source, name))
                figures["nginx_up"].append(upload_nginx(client, nginx_base, source, name))
                figures["epm_down"].append(download(
                    client, f"{server.base}/interop/rest/11.1.2.3.600/applicationsnapshots/"
                    f"{name}/contents", size))
                figures["nginx_down"].append(download(client, f"{nginx_base}/{name}", size))
        rss = peak_rss_mib(server.pids())
    finally:
        server.stop()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(nginx.pid, signal.SIGKILL)  # its own session: master and workers
        nginx.wait()
        source.unlink()
    mb = size / 1e6
    best = {k: min(v) for k, v in figures.items()}
    return {"size_mib": size / (1 << 20), "peak_rss_mib": round(rss, 1),
            **{f"{k}_mb_s": round(mb / t, 1) for k, t in best.items()},
            "upload_ratio": round(best["nginx_up"] / best["epm_up"], 2),
            "download_ratio": round(best["nginx_down"] / best["epm_down"], 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100M,1G")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    ensure_tools("nginx")
    results = []
    with workdir() as work:
        for text in args.sizes.split(","):
            log(f"size {text}")
            results.append(bench_size(parse_size(text), args.rounds, work))
    print(f"{'size MiB':>9} {'up MB/s':>9} {'nginx up':>9} {'ratio':>6} {'down MB/s':>10} "
          f"{'nginx dn':>9} {'ratio':>6} {'peak RSS MiB':>13}")
    for r in results:
        print(f"{r['size_mib']:>9.0f} {r['epm_up_mb_s']:>9} {r['nginx_up_mb_s']:>9} "
              f"{r['upload_ratio']:>6} {r['epm_down_mb_s']:>10} {r['nginx_down_mb_s']:>9} "
              f"{r['download_ratio']:>6} {r['peak_rss_mib']:>13}")
    out = BENCH_DIR / "results" / f"files-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"loadavg": os.getloadavg(), "results": results}, indent=2))


if __name__ == "__main__":
    main()
