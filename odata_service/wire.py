"""uvicorn's HTTP protocol, with the head and body of a response in one write.

uvicorn writes a response's status line and headers, then its body, each straight
to the socket: two system calls and two TCP segments per response, and a client
woken twice. Here the writes made during one turn of the event loop are joined and
leave at the end of it, so a response goes out whole. `odata serve` passes the class
to uvicorn as its `http` protocol.
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class CoalescingHttpProtocol(HttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(CoalescingTransport(transport))  # type: ignore[arg-type]


class CoalescingTransport:
    """A transport whose writes within one event-loop turn are sent together."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._pending: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not self._pending:
            asyncio.get_running_loop().call_soon(self._flush)
        self._pending.append(data)

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def _flush(self) -> None:
        if not self._pending:
            return
        data = b"".join(self._pending)
        self._pending.clear()
        if not self._transport.is_closing():
            self._transport.write(data)

    def __getattr__(self, name: str) -> object:
        # Reading, flow control and connection details are the socket's own.
        return getattr(self._transport, name)
