"""bench/client: the Python client's own cost, against raw httpx and curl in the same run.

1. Polls: one client polling one ended job's status, sequentially, as fast as it can —
   ``EpmClient.job_status()`` (request, checks, JSON, a JobResult) against a bare
   ``httpx.Client.get().json()`` loop, interleaved in batches. Each runs against
   ``epmjobs serve`` and against nginx serving the same bytes (so the server's cost drops
   out). Reported: polls/s and the client process's CPU microseconds per poll; the
   difference is the client's own overhead.
2. Files: the same random file uploaded (50 MB chunks) and downloaded by the client and by
   curl (the same chunks, pre-split, one curl per chunk, ``Expect:`` off), alternating.
   Target (the issue): uploads and downloads >= 0.8 x curl.

Loopback only; every process started here is stopped; every wait is bounded.

    .venv/bin/python bench/client.py                   # 2000 polls x 3, a 256 MiB file x 3
    .venv/bin/python bench/client.py --polls 5000 --mib 512 --repeat 5
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import harness as h
import httpx

from epmjobs.client import EpmClient

TARGET = 0.8
CHUNK = 50 * 1024 * 1024
MAX_MIB = 2048


def poll_rates(url: str, job_id: int, polls: int, repeat: int) -> dict[str, dict[str, float]]:
    """Raw httpx vs the client, interleaved in batches of 50 so that the machine's load
    (it is shared) falls on both alike; the best of ``repeat`` rounds of ``polls`` each."""
    auth = (h.ADMIN_USER, h.ADMIN_PASSWORD)
    path = f"{h.PLANNING}/applications/{h.APP}/jobs/{job_id}"
    raw = httpx.Client(base_url=url, auth=auth, timeout=30)
    client = EpmClient(url, auth)

    def raw_poll() -> None:
        body = raw.get(path).json()
        assert body["status"] == 0

    def client_poll() -> None:
        assert client.job_status(h.APP, job_id).ok

    fns = {"httpx": raw_poll, "EpmClient": client_poll}
    best: dict[str, dict[str, float]] = {}
    try:
        for fn in fns.values():
            for _ in range(50):
                fn()  # warm: connections, caches
        for _ in range(repeat):
            spent = {label: [0.0, 0.0] for label in fns}  # wall, CPU
            for batch in range(max(1, polls // 50)):
                order = list(fns) if batch % 2 == 0 else list(reversed(fns))
                for label in order:
                    cpu, wall = time.process_time(), time.perf_counter()
                    for _ in range(50):
                        fns[label]()
                    spent[label][0] += time.perf_counter() - wall
                    spent[label][1] += time.process_time() - cpu
            n = max(1, polls // 50) * 50
            for label, (wall, cpu) in spent.items():
                run = {"polls_per_s": n / wall, "cpu_us_per_poll": 1e6 * cpu / n,
                       "wall_us_per_poll": 1e6 * wall / n}
                if label not in best or run["polls_per_s"] > best[label]["polls_per_s"]:
                    best[label] = run
    finally:
        raw.close()
        client.close()
    return best


def make_file(path: Path, mib: int) -> None:
    with path.open("wb") as out:
        for _ in range(mib):
            out.write(os.urandom(1024 * 1024))


def split(path: Path, into: Path) -> list[Path]:
    """The file's 50 MiB chunks as files of their own, for curl (untimed)."""
    into.mkdir(exist_ok=True)
    parts = []
    with path.open("rb") as source:
        while chunk := source.read(CHUNK):
            part = into / f"part-{len(parts):04d}"
            part.write_bytes(chunk)
            parts.append(part)
    return parts or [into / "empty"]


def curl(*args: str) -> bytes:
    done = subprocess.run([h.tool("curl"), "-sS", "--fail", "-u",
                           f"{h.ADMIN_USER}:{h.ADMIN_PASSWORD}", *args],
                          capture_output=True, check=True, timeout=600)
    return done.stdout


def curl_upload(base: str, parts: list[Path], name: str, size: int) -> None:
    for i, part in enumerate(parts):
        n = part.stat().st_size
        q = json.dumps({"isFirst": i == 0, "isLast": i == len(parts) - 1, "chunkSize": n,
                        "fileSize": size}, separators=(",", ":"))
        url = httpx.URL(f"{base}/interop/rest/11.1.2.3.600/applicationsnapshots/{name}"
                        "/contents", params={"q": q})
        answer = json.loads(curl("-X", "POST", "-T", str(part), "-H", "Expect:", "-H",
                                 "Content-Type: application/octet-stream", str(url)))
        if answer.get("status") != 0:
            raise RuntimeError(f"curl upload refused: {answer}")


def transfer_rates(base: str, work: Path, mib: int, repeat: int) -> dict[str, list[float]]:
    source = work / "payload.bin"
    make_file(source, mib)
    parts = split(source, work / "parts")
    size = source.stat().st_size
    rates: dict[str, list[float]] = {k: [] for k in
                                     ("upload curl", "upload EpmClient", "download curl",
                                      "download EpmClient")}
    with EpmClient(base, (h.ADMIN_USER, h.ADMIN_PASSWORD)) as client:
        def timed(label: str, fn: Any) -> None:
            start = time.perf_counter()
            fn()
            rates[label].append(size / (1024 * 1024) / (time.perf_counter() - start))
            h.log(f"{label}: {rates[label][-1]:,.0f} MiB/s")

        for round_ in range(repeat):
            order = ["curl", "EpmClient"] if round_ % 2 == 0 else ["EpmClient", "curl"]
            for who in order:
                name = f"bench-{who}-{round_}.bin"
                out = work / f"down-{who}.bin"
                if who == "curl":
                    timed("upload curl", lambda n=name: curl_upload(base, parts, n, size))
                    timed("download curl", lambda n=name, o=out: curl(
                        "-o", str(o), f"{base}/interop/rest/11.1.2.3.600/applicationsnapshots/"
                                      f"{n}/contents"))
                else:
                    timed("upload EpmClient", lambda n=name: client.upload(source, n))
                    timed("download EpmClient", lambda n=name, o=out: client.download(n, o))
                if out.stat().st_size != size:
                    raise RuntimeError(f"{who} downloaded {out.stat().st_size} of {size} bytes")
                out.unlink()
                client.delete_file(name)
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--polls", type=int, default=2000, help="polls per round")
    parser.add_argument("--mib", type=int, default=256, help=f"file size (<= {MAX_MIB})")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    args.mib = max(1, min(args.mib, MAX_MIB))
    h.ensure_tools("nginx", "curl")
    results: dict[str, Any] = {"args": vars(args), "notes": h.machine_notes()}
    with h.workdir(args.keep) as work:
        server = h.EpmServer(work / "data", workers=1)
        nginx: h.Nginx | None = None
        try:
            server.start()
            job_id = server.submit_trivial()
            body = server.wait_terminal(job_id)
            nginx = h.Nginx(work / "nginx", body)
            nginx.start()
            for target, url in (("epmjobs", server.base), ("nginx", f"http://{h.HOST}:"
                                                                     f"{nginx.port}")):
                h.log(f"polling {target}")
                results[f"polls {target}"] = poll_rates(url, job_id, args.polls, args.repeat)
            if server.get("/interop/rest/")[0] == 200:
                results["files"] = transfer_rates(server.base, work, args.mib, args.repeat)
            else:
                h.log("this server has no interop file API yet: file transfers skipped")
        finally:
            if nginx:
                nginx.stop()
            server.stop()
    report(results)
    out = h.BENCH_DIR / "results"
    out.mkdir(exist_ok=True)
    path = out / f"client-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(results, indent=2))
    print(f"\n(saved {path.relative_to(h.ROOT)})", file=sys.stderr)


def report(results: dict[str, Any]) -> None:
    args = results["args"]
    print(f"\nbench/client - {args['polls']} sequential polls x {args['repeat']} (best), "
          f"{args['mib']} MiB file x {args['repeat']}, loopback")
    print("machine: " + ", ".join(f"{k}={v}" for k, v in results["notes"].items()))
    print(f"\n{'polls against':<16} {'client':<10} {'polls/s':>9} {'wall us':>9} "
          f"{'client CPU us':>14}")
    for target in ("epmjobs", "nginx"):
        rows = results[f"polls {target}"]
        for label, r in rows.items():
            print(f"{target:<16} {label:<10} {r['polls_per_s']:>9,.0f} "
                  f"{r['wall_us_per_poll']:>9,.0f} {r['cpu_us_per_poll']:>14,.0f}")
        extra = rows["EpmClient"]["cpu_us_per_poll"] - rows["httpx"]["cpu_us_per_poll"]
        print(f"{'':<16} EpmClient overhead over raw httpx: {extra:+,.0f} us CPU per poll")
    files = results.get("files")
    if not files:
        print("\nfiles: skipped (no interop file API on this server)")
        return
    print(f"\n{'transfer':<22} {'median MiB/s':>12} {'best MiB/s':>11} {'x curl':>7}")
    for op in ("upload", "download"):
        ref = statistics.median(files[f"{op} curl"])
        for who in ("curl", "EpmClient"):
            got = files[f"{op} {who}"]
            print(f"{op + ' ' + who:<22} {statistics.median(got):>12,.0f} {max(got):>11,.0f} "
                  f"{statistics.median(got) / ref:>7.2f}")
        ratio = statistics.median(files[f"{op} EpmClient"]) / ref
        print(f"{'':<22} {op}: {ratio:.2f} x curl (target >= {TARGET}) -> "
              f"{'MEETS' if ratio >= TARGET else 'MISSES'} the target")


if __name__ == "__main__":
    main()
