"""Per-request limits of the HTTP service: a bounded queue and a time limit.

Scoring runs in worker threads, one request at a time on the model (it uses every core).
- At most `max_pending` scoring requests are admitted at once (running or waiting). One more is
  answered at once with 503 and `Retry-After`, never left hanging.
- A request still unanswered after `timeout_s` gets 504 with a JSON body. If it has not started
  scoring yet, it never will (its place goes to the next); if it has, the result is dropped.
Neither affects other requests: each waits and is timed on its own.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from fastapi import HTTPException

T = TypeVar("T")
DEFAULT_TIMEOUT_S = 60.0
DEFAULT_MAX_PENDING = 32


class _Expired(Exception):
    """The request's time ran out before it could start scoring."""


class WorkLimiter:
    def __init__(
        self,
        lock: threading.Lock,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        max_pending: int = DEFAULT_MAX_PENDING,
    ) -> None:
        self.lock = lock
        self.timeout_s = timeout_s
        self.max_pending = max_pending
        self.pending = 0
        self.counter = threading.Lock()
        self.executor = ThreadPoolExecutor(max_workers=max_pending, thread_name_prefix="score")

    def _release(self, _: object = None) -> None:
        with self.counter:
            self.pending -= 1

    async def run(self, work: Callable[[], T]) -> T:
        """`work()` under the model lock, within the limits; 503 or 504 otherwise."""
        with self.counter:
            if self.pending >= self.max_pending:
                raise HTTPException(
                    status_code=503,
                    detail=f"server busy: {self.pending} requests are being scored or waiting "
                    f"(limit {self.max_pending}); retry shortly",
                    headers={"Retry-After": "1"},
                )
            self.pending += 1
        deadline = time.monotonic() + self.timeout_s

        def guarded() -> T:
            with self.lock:
                if time.monotonic() >= deadline:
                    raise _Expired
                return work()

        future = asyncio.get_running_loop().run_in_executor(self.executor, guarded)
        future.add_done_callback(self._release)
        try:
            return await asyncio.wait_for(asyncio.shield(future), self.timeout_s)
        except (asyncio.TimeoutError, _Expired):
            future.add_done_callback(_consume)
            raise HTTPException(
                status_code=504,
                detail=f"scoring did not finish within the limit of {self.timeout_s:g} s; "
                "send a shorter article or fewer articles per request",
            ) from None


def _consume(future: asyncio.Future) -> None:
    """Retrieve a dropped request's outcome so asyncio does not log it as never retrieved."""
    if not future.cancelled():
        future.exception()
