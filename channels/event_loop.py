"""One asyncio loop in a thread, so synchronous code (the worker, the CLI) can await a client.

python-telegram-bot's `Bot` pools one `httpx.AsyncClient`, bound to the loop that opened it:
`asyncio.run()` per call breaks it ("Event loop is closed"). One loop per process, started
lazily (after a fork) and closed on shutdown, is what works (see ../shared/PROVIDERS.md).
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")
SHUTDOWN_SECONDS = 10.0


class LoopThread:
    """A daemon thread running one event loop until `close()`."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._pid: int | None = None

    @property
    def running(self) -> bool:
        """Whether the loop has been started in this process."""
        return self._loop is not None and self._pid == os.getpid()

    def run(self, make: Callable[[], Awaitable[T]], timeout: float | None = None) -> T:
        """Run `make()` on the loop and wait for its result (or its exception)."""
        loop = self._ensure()

        async def call() -> T:
            return await make()

        return asyncio.run_coroutine_threadsafe(call(), loop).result(timeout)

    def _ensure(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._pid != os.getpid():
                # A fork copies the parent's loop object but not its thread: start afresh.
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name=self.name, daemon=True)
                thread.start()
                self._loop, self._thread, self._pid = loop, thread, os.getpid()
            return self._loop

    def close(self, last: Callable[[], Awaitable[object]] | None = None) -> None:
        """Run `last()` (e.g. closing a client), then stop and close the loop; safe to repeat."""
        with self._lock:
            loop, thread = self._loop, self._thread
            if loop is None or thread is None or self._pid != os.getpid():
                self._loop = self._thread = None
                return
            self._loop = self._thread = None
        try:
            if last is not None:

                async def call() -> object:
                    return await last()

                asyncio.run_coroutine_threadsafe(call(), loop).result(SHUTDOWN_SECONDS)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(SHUTDOWN_SECONDS)
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
