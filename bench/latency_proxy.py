"""A loopback TCP proxy that holds each new connection for a fixed delay before relaying.

It stands in for a distant API: a client that opens a new connection per request pays the
delay every time, a client that keeps connections alive pays it once. Bytes (TLS included)
pass through unchanged. Prints ``{"port": N}`` once listening; stops on SIGTERM or when
its standard input closes.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from common import emit, pin_to_cpu

CHUNK = 256 * 1024


async def pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy one direction until end of stream, then half-close the other side."""
    try:
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except (ConnectionError, OSError):
        writer.close()


async def relay(
    client_reader: asyncio.StreamReader,
    client_writer: asyncio.StreamWriter,
    target: tuple[str, int],
    delay: float,
) -> None:
    """Wait ``delay`` seconds, then connect upstream and relay both ways."""
    await asyncio.sleep(delay)
    try:
        upstream_reader, upstream_writer = await asyncio.open_connection(*target)
    except OSError:
        client_writer.close()
        return
    await asyncio.gather(pump(client_reader, upstream_writer), pump(upstream_reader, client_writer))
    for writer in (client_writer, upstream_writer):
        writer.close()


async def serve(target: tuple[str, int], delay: float) -> None:
    server = await asyncio.start_server(
        lambda r, w: relay(r, w, target, delay), host="127.0.0.1", port=0
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_reader(sys.stdin.fileno(), lambda: sys.stdin.read(1) or stop.set())
    emit({"port": server.sockets[0].getsockname()[1]})
    async with server:
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target-port", type=int, required=True)
    parser.add_argument("--delay", type=float, default=0.05, help="seconds per new connection")
    parser.add_argument("--cpu", type=int, default=None)
    args = parser.parse_args()
    pin_to_cpu(args.cpu)
    asyncio.run(serve(("127.0.0.1", args.target_port), args.delay))


if __name__ == "__main__":
    main()
