"""The HTTP service: `create_app(model, max_bytes=...)` returns a FastAPI app.

Endpoints: `POST /v1/score` (one article), `POST /v1/score/batch` (several), `GET /healthz`
(the process answers), `GET /readyz` (the model is loaded), `GET /` (the page), `/docs`.
Bodies over `max_bytes` get 413; invalid JSON or fields get 422 with the field named in
`detail` and in a one-line `error`.

`model` is a Scorer, a predictor, or a function returning either; a function is called once in
a background thread at start-up, and until it returns /readyz and the scoring endpoints
answer 503.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal

from fastapi import FastAPI, HTTPException, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from detente.serving.limits import DEFAULT_MAX_PENDING, DEFAULT_TIMEOUT_S, WorkLimiter
from detente.serving.results import ArticleResult
from detente.serving.scorer import Article, Scorer

DEFAULT_MAX_BYTES = 1_000_000
DEFAULT_MAX_BATCH = 64
STATIC = Path(__file__).resolve().parent / "static"
log = logging.getLogger("detente.serving")

ModelSource = Any  # a Scorer, a predictor, or a function returning either


class ScoreRequest(BaseModel):
    """One article: plain text, text copied from a page, or HTML."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, description="The article: plain text or HTML.")
    id: str | None = Field(None, max_length=512, description="Echoed back; default: a hash.")
    target: str | None = Field(
        None, min_length=1, max_length=200, description="Stance target (default: negotiations)."
    )
    sentiment_target: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        description="Score sentiment toward this target instead of the sentence's own.",
    )
    format: Literal["auto", "text", "html"] = Field("auto", description="Input format.")


class BatchRequest(BaseModel):
    """Several articles; `target` / `sentiment_target` apply to those that set none."""

    model_config = ConfigDict(extra="forbid")

    articles: list[ScoreRequest] = Field(min_length=1)
    target: str | None = Field(None, min_length=1, max_length=200)
    sentiment_target: str | None = Field(None, min_length=1, max_length=200)


class BatchResponse(BaseModel):
    results: list[ArticleResult]


class _BodyLimit:
    """ASGI middleware: answer 413 to any request body larger than `max_bytes`."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def _reject(self, send: Any) -> None:
        body = json.dumps(
            {"detail": f"request body is larger than the limit of {self.max_bytes} bytes"}
        ).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._reject(send)
            return
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._reject(send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        sent = False

        async def replay() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _field_errors(exc: RequestValidationError) -> tuple[list[dict[str, Any]], str]:
    details = []
    for error in exc.errors():
        item = {key: error[key] for key in ("type", "loc", "msg") if key in error}
        item["loc"] = list(item.get("loc", []))
        details.append(item)
    first = details[0] if details else {"loc": [], "msg": "invalid request"}
    if first.get("type") == "json_invalid":
        reason = exc.errors()[0].get("ctx", {}).get("error", "")
        position = first["loc"][-1] if len(first["loc"]) > 1 else "?"
        return details, f"body: invalid JSON at character {position} ({reason})"
    where = ".".join(str(part) for part in first["loc"]) or "body"
    return details, f"{where}: {first['msg']}"


class _ModelHolder:
    """The scorer once loaded, or why it is not (yet)."""

    def __init__(self, source: ModelSource) -> None:
        self.scorer: Scorer | None = None
        self.error: str | None = None
        self.lock = threading.Lock()  # one scoring call at a time: the model uses every core
        self.loader: Callable[[], Any] | None = None
        if isinstance(source, Scorer):
            self.scorer = source
        elif hasattr(source, "predict_probs"):
            self.scorer = Scorer(source)
        elif callable(source):
            self.loader = source
        else:
            raise TypeError("model must be a Scorer, a predictor, or a function returning one")

    def load(self) -> None:
        assert self.loader is not None
        try:
            loaded = self.loader()
            self.scorer = loaded if isinstance(loaded, Scorer) else Scorer(loaded)
        except Exception as exc:  # reported through /readyz and the log
            self.error = f"{type(exc).__name__}: {exc}"
            log.error("detente: the model failed to load: %s", self.error)

    def require(self) -> Scorer:
        if self.scorer is None:
            detail = f"model failed to load: {self.error}" if self.error else "model is loading"
            raise HTTPException(status_code=503, detail=detail)
        return self.scorer


def _article(request: ScoreRequest) -> Article:
    return Article(
        text=request.text,
        id=request.id,
        target=request.target,
        sentiment_target=request.sentiment_target,
        format=request.format,
    )


def create_app(
    model: ModelSource,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_batch: int = DEFAULT_MAX_BATCH,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    max_pending: int = DEFAULT_MAX_PENDING,
) -> FastAPI:
    """The FastAPI app around a Scorer, a predictor, or a function that loads one.

    Limits per request: `max_bytes` of body (413), `max_batch` articles (422), `timeout_s`
    seconds until the answer (504), `max_pending` requests admitted at once (503): see limits.py.
    """
    holder = _ModelHolder(model)
    limiter = WorkLimiter(holder.lock, timeout_s, max_pending)

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        if holder.loader is not None and holder.scorer is None:
            threading.Thread(target=holder.load, name="detente-model-load", daemon=True).start()
        yield

    app = FastAPI(
        title="detente",
        summary="Stance toward negotiations and sentiment, sentence by sentence, for news.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.add_middleware(_BodyLimit, max_bytes=max_bytes)
    app.state.model = holder

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        details, message = _field_errors(exc)
        return JSONResponse(status_code=422, content={"detail": details, "error": message})

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Any:
        if exc.status_code == 400 and exc.detail == "There was an error parsing the body":
            message = "body: not JSON text (bytes that are not UTF-8)"
            detail = [{"type": "json_invalid", "loc": ["body"], "msg": message}]
            return JSONResponse(status_code=422, content={"detail": detail, "error": message})
        return await http_exception_handler(request, exc)

    @app.get("/healthz", tags=["service"])
    def healthz() -> dict[str, str]:
        """The process is up (the model may still be loading)."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["service"])
    def readyz() -> JSONResponse:
        """200 once the model is loaded, 503 before (or if loading failed)."""
        if holder.scorer is None:
            status = "failed" if holder.error else "loading"
            return JSONResponse(status_code=503, content={"status": status, "error": holder.error})
        config = holder.scorer.config
        return JSONResponse(
            {
                "status": "ready",
                "backend": getattr(holder.scorer.predictor, "name", "unknown"),
                "default_target": config.default_target,
                "stance_labels": list(config.stance_labels),
                "sentiment_labels": list(config.sentiment_labels),
                "max_bytes": max_bytes,
                "max_batch": max_batch,
                "timeout_s": timeout_s,
                "max_pending": max_pending,
            }
        )

    @app.post("/v1/score", response_model=ArticleResult, tags=["scoring"])
    async def score(request: ScoreRequest) -> ArticleResult:
        """Score one article: its sentences with offsets, labels and probabilities, a summary."""
        scorer = holder.require()
        article = _article(request)
        return await limiter.run(lambda: next(iter(scorer.score_articles([article]))))

    @app.post("/v1/score/batch", response_model=BatchResponse, tags=["scoring"])
    async def score_batch(request: BatchRequest) -> BatchResponse:
        """Score several articles; results come back in request order."""
        if len(request.articles) > max_batch:
            raise RequestValidationError(
                [
                    {
                        "type": "too_long",
                        "loc": ("body", "articles"),
                        "msg": f"at most {max_batch} articles per request",
                    }
                ]
            )
        scorer = holder.require()
        articles = [_article(article) for article in request.articles]
        results = await limiter.run(
            lambda: list(
                scorer.score_articles(
                    articles, target=request.target, sentiment_target=request.sentiment_target
                )
            )
        )
        return BatchResponse(results=results)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def page() -> HTMLResponse:
        return HTMLResponse((STATIC / "index.html").read_text(encoding="utf-8"))

    return app
