"""Per-request limits: a request over its time gets 504, one over the queue 503, both with a
JSON body at once; malformed and oversized requests never hold up the others."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from serving_helpers import serving

from detente.model.backends import load_predictor
from detente.serving.http import create_app
from detente.serving.scorer import Scorer


class SlowPredictor:
    """The tiny model, but a text containing SLOW waits until `release` is set."""

    name = "slow"

    def __init__(self, inner) -> None:
        self.inner = inner
        self.config = inner.config
        self.tokenizer = getattr(inner, "tokenizer", None)
        self.release = threading.Event()
        self.started = threading.Event()

    def predict_probs(self, texts, targets, batch_size=32, show_progress=False):
        if any("SLOW" in t for t in texts):
            self.started.set()
            self.release.wait(30)
        return self.inner.predict_probs(texts, targets, batch_size=batch_size)


@pytest.fixture()
def slow_server(tiny_model_dir: Path) -> Iterator[tuple[str, SlowPredictor]]:
    predictor = SlowPredictor(load_predictor(tiny_model_dir))
    app = create_app(Scorer(predictor), max_bytes=20_000, timeout_s=1.0, max_pending=2)
    with serving(app) as base:
        try:
            yield base, predictor
        finally:
            predictor.release.set()


def test_time_and_queue_limits_answer_at_once_and_spare_the_others(slow_server) -> None:
    base, predictor = slow_server
    with ThreadPoolExecutor(4) as pool:
        slow = pool.submit(httpx.post, f"{base}/v1/score", json={"text": "SLOW talks."}, timeout=30)
        assert predictor.started.wait(20)
        waiting = pool.submit(httpx.post, f"{base}/v1/score", json={"text": "Talks."}, timeout=30)
        # the queue (2) is full: a third scoring request is turned away at once
        busy = httpx.post(f"{base}/v1/score", json={"text": "More talks."}, timeout=30)
        assert busy.status_code == 503 and busy.headers["retry-after"] == "1"
        assert "server busy" in busy.json()["detail"]
        # malformed and oversized requests are answered while the model is busy
        assert httpx.post(f"{base}/v1/score", content=b"{", timeout=10).status_code == 422
        big = httpx.post(f"{base}/v1/score", json={"text": "x" * 30_000}, timeout=10)
        assert big.status_code == 413
        assert httpx.get(f"{base}/healthz", timeout=10).status_code == 200
        timed_out = slow.result()
        assert timed_out.status_code == 504
        assert "within the limit of 1 s" in timed_out.json()["detail"]
        assert waiting.result().status_code == 504  # its time ran out while it waited
        predictor.release.set()
    after = httpx.post(f"{base}/v1/score", json={"text": "Talks resumed."}, timeout=30)
    assert after.status_code == 200 and after.json()["sentences"][0]["text"] == "Talks resumed."
