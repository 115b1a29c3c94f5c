"""A bounded load test of the HTTP service: concurrent clients for a fixed time, loopback only.

    python benchmarks/bench_load.py [--model default|DIR] [--clients 8] [--duration 30]
                                    [--bad-share 0.2] [--backend torch]

Starts `detente serve` on 127.0.0.1 with a free port (or uses --url), then runs `--clients`
asyncio clients for `--duration` seconds; each sends its next request when the last one is
answered, so the load stops by itself. Most requests score a real news article; a share
(`--bad-share`) is malformed JSON, an oversized body (over --max-bytes: 413) or an invalid
field (422), to show that bad requests never affect good ones. Reports requests, clients,
duration, p50/p95/p99 latency of the good requests, status counts, 5xx and transport errors,
and writes benchmarks/results/load.json. The aim: zero 5xx, zero transport errors.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from bench_http import article_text, free_port, wait_ready  # noqa: E402

MAX_BYTES = 200_000


def request_kinds(text: str, max_bytes: int) -> dict[str, tuple[bytes, int]]:
    """Request bodies by kind, with the status each should get."""
    return {
        "article": (json.dumps({"text": text, "id": "load"}).encode(), 200),
        "malformed_json": (b'{"text": "Talks resumed.', 422),
        "oversized": (json.dumps({"text": "x" * (max_bytes + 1)}).encode(), 413),
        "invalid_field": (json.dumps({"text": "Talks.", "format": "pdf"}).encode(), 422),
    }


async def client(
    base: str, kinds: dict[str, tuple[bytes, int]], bad_share: float, stop: float, seed: int
) -> list[dict[str, Any]]:
    import httpx

    rng = random.Random(seed)
    bad = [k for k in kinds if k != "article"]
    records = []
    async with httpx.AsyncClient(base_url=base, timeout=120) as http:
        while time.monotonic() < stop:
            kind = rng.choice(bad) if rng.random() < bad_share else "article"
            body, expected = kinds[kind]
            started = time.perf_counter()
            try:
                response = await http.post(
                    "/v1/score", content=body, headers={"Content-Type": "application/json"}
                )
                status = response.status_code
                error = None if status == expected else response.text[:200]
            except httpx.HTTPError as exc:
                status, error = None, f"{type(exc).__name__}: {exc}"
            records.append(
                {
                    "kind": kind,
                    "status": status,
                    "expected": expected,
                    "seconds": time.perf_counter() - started,
                    "error": error,
                }
            )
    return records


async def run_load(base: str, args: argparse.Namespace) -> tuple[list[dict[str, Any]], float]:
    text, _ = article_text(args.data_root)
    kinds = request_kinds(text, args.max_bytes)
    started = time.monotonic()
    stop = started + args.duration
    tasks = [client(base, kinds, args.bad_share, stop, seed) for seed in range(args.clients)]
    results = await asyncio.gather(*tasks)
    return [r for rs in results for r in rs], time.monotonic() - started


def summarize(records: list[dict[str, Any]], wall: float, clients: int) -> dict[str, Any]:
    good = [r["seconds"] * 1000 for r in records if r["kind"] == "article" and r["status"] == 200]
    bad = [r["seconds"] * 1000 for r in records if r["kind"] != "article"]
    return {
        "requests": len(records),
        "clients": clients,
        "duration_s": round(wall, 1),
        "requests_per_s": round(len(records) / wall, 2),
        "by_kind": dict(Counter(r["kind"] for r in records)),
        "statuses": {str(k): v for k, v in Counter(r["status"] for r in records).items()},
        "article_ok": len(good),
        "article_ms": {
            "p50": round(common.percentile(good, 50), 1),
            "p95": round(common.percentile(good, 95), 1),
            "p99": round(common.percentile(good, 99), 1),
        },
        "bad_request_ms_p99": round(common.percentile(bad, 99), 1) if bad else None,
        "server_errors_5xx": sum(1 for r in records if (r["status"] or 0) >= 500),
        "transport_errors": sum(1 for r in records if r["status"] is None),
        "unexpected": sum(1 for r in records if r["error"] is not None),
        "first_unexpected": [r["error"] for r in records if r["error"]][:3],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--model", default="default", help="model directory or 'default'")
    parser.add_argument("--backend", default="torch")
    parser.add_argument("--url", default=None, help="an already running server (loopback)")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of load")
    parser.add_argument("--bad-share", type=float, default=0.2, help="share of bad requests")
    parser.add_argument("--max-bytes", type=int, default=MAX_BYTES)
    parser.add_argument("--timeout", type=float, default=60.0, help="server's --timeout")
    parser.add_argument("--data-root", type=Path, default=common.DEFAULT_DATA_ROOT)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()

    warning = common.check_load()
    if warning:
        common.note(warning)
    process = None
    base = args.url
    if base is None:
        port = free_port()
        command = [
            str(Path(sys.executable).parent / "detente"),
            "serve",
            "--model",
            args.model,
            "--backend",
            args.backend,
            "--port",
            str(port),
            "--max-bytes",
            str(args.max_bytes),
            "--timeout",
            str(args.timeout),
            "--log-level",
            "warning",
        ]
        process = subprocess.Popen(command)
        wait_ready(port, process, 300)
        base = f"http://127.0.0.1:{port}"
    elif not base.startswith(("http://127.0.0.1", "http://localhost")):
        parser.error("--url must be a loopback address")
    try:
        records, wall = asyncio.run(run_load(base, args))
        server = common.proc_status(process.pid) if process is not None else {}
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=30)
    summary = summarize(records, wall, args.clients)
    summary["server_peak_rss_mib"] = round(server.get("VmHWM", float("nan")), 1)
    summary["model"] = args.model
    summary["backend"] = args.backend
    summary["machine"] = common.machine()
    m = summary["article_ms"]
    print(
        f"{summary['requests']} requests from {args.clients} clients in "
        f"{summary['duration_s']} s ({summary['requests_per_s']} req/s; "
        f"{summary['article_ok']} articles scored); article latency p50 {m['p50']} ms, "
        f"p95 {m['p95']} ms, p99 {m['p99']} ms; statuses {summary['statuses']}; "
        f"5xx {summary['server_errors_5xx']}, transport errors {summary['transport_errors']}, "
        f"unexpected {summary['unexpected']}; CPU: {summary['machine'].get('cpu')}",
        flush=True,
    )
    common.write_json("load.json", summary, args.out)
    if summary["unexpected"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
