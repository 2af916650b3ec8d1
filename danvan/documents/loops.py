"""Calling pyHanko's synchronous API from anywhere, also where an event loop already runs."""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools


def outside_event_loop(func):
    """Run ``func`` in a worker thread when the calling thread already runs an event loop.

    pyHanko's synchronous API calls ``asyncio.run``, which refuses to start inside a running
    loop (an async server, or a test driving a browser through Playwright's sync API).
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return func(*args, **kwargs)
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(func, *args, **kwargs).result()

    return wrapper
