"""Article latency and requests/s through the HTTP service, and the server's memory.

    python benchmarks/bench_http.py [--model default|DIR] [--backends auto,torch]
                                    [--clients 4] [--requests 200]

For each backend: starts `detente serve` for real on 127.0.0.1 with a free port, waits for
/readyz, sends a few warm-up requests, then `--requests` POST /v1/score requests of a real
news article from `--clients` concurrent clients (each keeps its connection open and sends
its next request when the last one is answered: a bounded load). Reports latency p50 / p95 /
p99, requests/s, sentences/s, the time from process start to ready, and the server's resident
memory (VmRSS when ready, VmHWM peak at the end, from /proc/<pid>/status).

Prints the figures and writes benchmarks/results/http.json.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

MEMORY_BAR_MIB = 1024


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def article_text(data_root: Path) -> tuple[str, str]:
    path = data_root / "examples" / "moscow_times_2024-09-25_plain.txt"
    if not path.is_file():
        common.note(f"{path} not found: using the project's examples/article.txt")
        path = common.ROOT / "examples" / "article.txt"
    return path.read_text(encoding="utf-8"), str(path)


def request(connection: http.client.HTTPConnection, body: bytes) -> tuple[int, bytes]:
    connection.request("POST", "/v1/score", body, {"Content-Type": "application/json"})
    response = connection.getresponse()
    return response.status, response.read()


def wait_ready(port: int, process: subprocess.Popen, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with code {process.returncode}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/readyz")
            response = connection.getresponse()
            body = response.read()
            connection.close()
            if response.status == 200:
                return json.loads(body)
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"the server was not ready after {timeout:.0f} s")


def run_load(port: int, body: bytes, clients: int, total: int) -> dict[str, Any]:
    latencies: list[float] = []
    errors: list[str] = []
    sentences: list[int] = []
    lock = threading.Lock()
    remaining = [total]

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        while True:
            with lock:
                if remaining[0] == 0:
                    break
                remaining[0] -= 1
            started = time.perf_counter()
            try:
                status, payload = request(connection, body)
            except (OSError, http.client.HTTPException) as exc:
                with lock:
                    errors.append(f"{type(exc).__name__}: {exc}")
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
                continue
            elapsed = time.perf_counter() - started
            with lock:
                if status == 200:
                    latencies.append(elapsed)
                    sentences.append(len(json.loads(payload)["sentences"]))
                else:
                    errors.append(f"HTTP {status}: {payload[:200]!r}")
        connection.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    ms = [x * 1000 for x in latencies]
    return {
        "requests_ok": len(latencies),
        "errors": len(errors),
        "first_errors": errors[:3],
        "wall_s": round(wall, 2),
        "requests_per_s": round(len(latencies) / wall, 2),
        "sentences_per_s": round(sum(sentences) / wall, 1),
        "latency_ms": {
            "p50": round(common.percentile(ms, 50), 1),
            "p95": round(common.percentile(ms, 95), 1),
            "p99": round(common.percentile(ms, 99), 1),
            "mean": round(sum(ms) / len(ms), 1) if ms else None,
            "max": round(max(ms), 1) if ms else None,
        },
    }


def bench_backend(backend: str, directory: Path, body: bytes, args) -> dict[str, Any]:
    port = free_port()
    command = [
        sys.executable,
        "-c",
        "from detente.serving.cli import main; main()",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--model",
        str(directory),
        "--backend",
        backend,
        "--log-level",
        "warning",
    ]
    env = {**os.environ}
    if args.threads:
        env["OMP_NUM_THREADS"] = str(args.threads)
    with tempfile.TemporaryFile("w+") as log:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            ready = wait_ready(port, process, args.ready_timeout)
            ready_s = time.perf_counter() - started
            at_ready = common.proc_status(process.pid)
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
            for _ in range(args.warmup):
                status, payload = request(connection, body)
                if status != 200:
                    raise RuntimeError(f"warm-up: HTTP {status}: {payload[:300]!r}")
            n_sentences = len(json.loads(payload)["sentences"]) if args.warmup else None
            connection.close()
            load = run_load(port, body, args.clients, args.requests)
            memory = common.proc_status(process.pid)
        except (RuntimeError, OSError, http.client.HTTPException) as exc:
            log.seek(0)
            return {"backend": backend, "error": f"{exc}\n{log.read()[-2000:]}"}
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    return {
        "backend": backend,
        "resolved_backend": ready.get("backend"),
        "ready_s": round(ready_s, 2),
        "sentences_per_article": n_sentences,
        "rss_ready_mib": round(at_ready.get("VmRSS", float("nan")), 1),
        "rss_after_mib": round(memory.get("VmRSS", float("nan")), 1),
        "peak_rss_mib": round(memory.get("VmHWM", float("nan")), 1),
        **load,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--model", default="default", help="model directory or 'default'")
    parser.add_argument(
        "--backends", default="auto,onnx-int8,onnx,torch", help="comma-separated backends"
    )
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients")
    parser.add_argument("--requests", type=int, default=200, help="requests in the timed load")
    parser.add_argument("--warmup", type=int, default=5, help="untimed requests first")
    parser.add_argument("--threads", type=int, default=None, help="OMP_NUM_THREADS for the server")
    parser.add_argument("--ready-timeout", type=float, default=180.0)
    parser.add_argument("--data-root", type=Path, default=common.DEFAULT_DATA_ROOT)
    parser.add_argument("--out", type=Path, default=None, help="JSON output path")
    args = parser.parse_args()

    from detente.model.onnx_backend import model_fingerprint

    warning = common.check_load()
    if warning:
        common.note(warning)
    directory, trained = common.resolve_model(args.model)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if any(b.startswith("onnx") or b == "auto" for b in backends):
        common.ensure_export(directory, args.data_root)
    text, source = article_text(args.data_root)
    body = json.dumps({"text": text, "id": "bench"}).encode("utf-8")
    print(
        f"model: {directory} ({'trained' if trained else 'RANDOM heads'}); article: {source} "
        f"({len(text)} characters); {args.clients} clients x {args.requests} requests "
        f"(+{args.warmup} warm-up)",
        flush=True,
    )
    results = []
    for backend in backends:
        result = bench_backend(backend, directory, body, args)
        results.append(result)
        if "error" in result:
            print(f"{backend}: FAILED: {result['error']}", flush=True)
            continue
        latency = result["latency_ms"]
        print(
            f"{backend:<10} ({result['resolved_backend']}): ready in {result['ready_s']:.1f} s; "
            f"{result['requests_per_s']:.2f} requests/s ({result['sentences_per_s']:.0f} "
            f"sentences/s, {result['sentences_per_article']} sentences an article); latency "
            f"p50 {latency['p50']:.0f} ms, p95 {latency['p95']:.0f} ms, p99 {latency['p99']:.0f} "
            f"ms; errors {result['errors']}; server RSS {result['rss_ready_mib']:.0f} MiB ready, "
            f"peak {result['peak_rss_mib']:.0f} MiB "
            f"({'under' if result['peak_rss_mib'] < MEMORY_BAR_MIB else 'OVER'} 1 GiB)",
            flush=True,
        )
    if not trained:
        common.note("random-head model: re-run once the default model exists")
    common.write_json(
        "http.json",
        {
            "model": str(directory),
            "model_fingerprint": model_fingerprint(directory),
            "trained_model": trained,
            "machine": common.machine(),
            "load_warning": warning,
            "article": {"source": source, "characters": len(text)},
            "settings": {
                "clients": args.clients,
                "requests": args.requests,
                "warmup": args.warmup,
                "threads": args.threads,
            },
            "results": results,
        },
        args.out,
    )
    if any("error" in r for r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
