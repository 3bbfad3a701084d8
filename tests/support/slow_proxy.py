"""A TCP proxy on 127.0.0.1 that answers every request a fixed delay late: a release "slowed on
purpose" without building one, for tests that need a slower service than the one running.

The delay is held once per exchange (before the first chunk of the answer to what the client last
sent), not per chunk: a client may send a request's headers and body in separate writes."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager


async def _pipe(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    before_each: Callable[[], Awaitable[None]],
) -> None:
    try:
        while chunk := await reader.read(65536):
            await before_each()
            writer.write(chunk)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


@contextmanager
def slow_proxy(target_host: str, target_port: int, delay_s: float) -> Iterator[str]:
    """Yields the proxy's base URL (http://127.0.0.1:PORT): each answer through it comes DELAY_S
    later."""
    loop = asyncio.new_event_loop()

    async def handle(client_reader: asyncio.StreamReader, client: asyncio.StreamWriter) -> None:
        upstream_reader, upstream = await asyncio.open_connection(target_host, target_port)
        awaiting_answer = False

        async def request_sent() -> None:
            nonlocal awaiting_answer
            awaiting_answer = True

        async def answer_due() -> None:
            nonlocal awaiting_answer
            if awaiting_answer:
                awaiting_answer = False
                await asyncio.sleep(delay_s)

        await asyncio.gather(
            _pipe(client_reader, upstream, request_sent),
            _pipe(upstream_reader, client, answer_due),
        )

    server = loop.run_until_complete(asyncio.start_server(handle, "127.0.0.1", 0))
    port = server.sockets[0].getsockname()[1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        loop.call_soon_threadsafe(server.close)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
