"""The HTTP service, started for real (`detente serve` in a subprocess) on 127.0.0.1."""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import httpx
import pytest
from conftest import ROOT

DETENTE = Path(sys.executable).parent / "detente"
EXAMPLE = (ROOT / "examples" / "article.txt").read_text(encoding="utf-8")
MAX_BYTES = 50_000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_ready(
    base: str, process: subprocess.Popen | None = None, log: IO[str] | None = None, timeout=120.0
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            output = ""
            if log is not None:
                log.seek(0)
                output = log.read()
            raise RuntimeError(f"server exited early:\n{output}")
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server at {base} not ready after {timeout} s")


@contextmanager
def running_server(model_dir: Path, *extra: str) -> Iterator[str]:
    """`detente serve` on an ephemeral port; yields its base URL and stops it afterwards."""
    port = free_port()
    command = [str(DETENTE), "serve", "--model", str(model_dir), "--port", str(port), *extra]
    with tempfile.TemporaryFile("w+") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, text=True)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_ready(base, process, log)
            yield base
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture(scope="module")
def server(tiny_model_dir: Path) -> Iterator[str]:
    with running_server(tiny_model_dir, "--max-bytes", str(MAX_BYTES), "--max-batch", "4") as base:
        yield base


def test_health_docs_and_page(server: str) -> None:
    assert httpx.get(f"{server}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{server}/readyz").json()
    assert ready["status"] == "ready" and ready["stance_labels"] == ["none", "against", "favor"]
    assert httpx.get(f"{server}/docs").status_code == 200
    schema = httpx.get(f"{server}/openapi.json").json()
    assert {"/v1/score", "/v1/score/batch", "/healthz", "/readyz"} <= set(schema["paths"])
    page = httpx.get(f"{server}/")
    assert page.status_code == 200 and 'id="article"' in page.text


def test_score_one_article(server: str) -> None:
    response = httpx.post(f"{server}/v1/score", json={"text": EXAMPLE, "id": "ex"}, timeout=60)
    assert response.status_code == 200
    data = response.json()
    assert data["id"] == "ex" and data["target"] == "negotiations" and data["text"] == EXAMPLE
    for s in data["sentences"]:
        assert EXAMPLE[s["start"] : s["end"]] == s["text"]
        assert set(s["stance"]["probs"]) == {"none", "against", "favor"}
        assert s["sentiment"]["label"] in ("negative", "neutral", "positive")
    assert data["summary"]["boilerplate_sentences"] == 12
    assert data["summary"]["body_sentences"] == 16
    toward = httpx.post(
        f"{server}/v1/score",
        json={"text": "<p>Talks resumed. Putin spoke.</p>", "target": "ceasefire",
              "sentiment_target": "Putin"},
        timeout=60,
    ).json()  # fmt: skip
    assert toward["source_format"] == "html"
    assert toward["target"] == "ceasefire" and toward["sentiment_target"] == "Putin"


def test_batch(server: str) -> None:
    body = {
        "articles": [
            {"text": "Talks resumed.", "id": "a"},
            {"text": "No talks.", "target": "truce"},
        ],
        "target": "peace",
    }
    response = httpx.post(f"{server}/v1/score/batch", json=body, timeout=60)
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["target"] for r in results] == ["peace", "truce"]
    assert results[0]["id"] == "a" and len(results[1]["sentences"]) == 1
    too_many = {"articles": [{"text": "x"}] * 5}
    response = httpx.post(f"{server}/v1/score/batch", json=too_many)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "articles"]


def test_too_large_gets_413(server: str) -> None:
    big = {"text": "Talks resumed. " * (MAX_BYTES // 10)}
    response = httpx.post(f"{server}/v1/score", json=big)
    assert response.status_code == 413
    assert "larger than the limit" in response.json()["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit is counted while reading
        yield b'{"text": "'
        for _ in range(MAX_BYTES // 1000 + 1):
            yield b"a" * 1000
        yield b'"}'

    streamed = httpx.post(
        f"{server}/v1/score", content=chunks(), headers={"content-type": "application/json"}
    )
    assert streamed.status_code == 413


@pytest.mark.parametrize(
    ("body", "field", "error"),
    [
        ({"txt": "hello"}, ["body", "text"], "body.text: Field required"),
        ({"text": ""}, ["body", "text"], "body.text: String should have at least 1 character"),
        ({"text": 5}, ["body", "text"], "body.text: Input should be a valid string"),
        ({"text": "ok", "format": "pdf"}, ["body", "format"], "body.format: Input should be"),
        ({"text": "ok", "target": ""}, ["body", "target"], "body.target: String should have"),
    ],
)
def test_invalid_fields_get_422_naming_the_field(
    server: str, body: dict, field: list[str], error: str
) -> None:
    response = httpx.post(f"{server}/v1/score", json=body)
    assert response.status_code == 422
    data = response.json()
    assert field in [item["loc"] for item in data["detail"]]
    assert data["error"].startswith(error)


def test_invalid_json_gets_422(server: str) -> None:
    response = httpx.post(
        f"{server}/v1/score", content=b'{"text": ', headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["error"].startswith("body: invalid JSON at character 9")


def test_readyz_waits_for_a_model_loaded_at_start(tiny_model_dir: Path) -> None:
    import uvicorn

    from detente.serving import Scorer
    from detente.serving.http import create_app

    release = threading.Event()

    def load() -> Scorer:
        release.wait(60)
        return Scorer.load(tiny_model_dir)

    port = free_port()
    config = uvicorn.Config(create_app(load), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        assert httpx.get(f"{base}/healthz").status_code == 200
        loading = httpx.get(f"{base}/readyz")
        assert loading.status_code == 503 and loading.json()["status"] == "loading"
        assert httpx.post(f"{base}/v1/score", json={"text": "Hi."}).status_code == 503
        release.set()
        wait_ready(base, timeout=60)
        assert httpx.post(f"{base}/v1/score", json={"text": "Hi."}).status_code == 200
    finally:
        release.set()
        server.should_exit = True
        thread.join(timeout=20)


def test_serve_refuses_a_missing_model(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(DETENTE), "serve", "--model", str(tmp_path / "nope"), "--port", str(free_port())],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error:") and "does not exist" in result.stderr
