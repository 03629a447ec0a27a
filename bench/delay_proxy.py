#!/usr/bin/env python3
"""A TCP proxy that delays everything it forwards, both ways: a database
across a network, on one machine (this kernel has no netem).

    python3 bench/delay_proxy.py DELAY_S LISTEN_PORT TARGET_PORT

e.g. `bench/delay_proxy.py 0.0005 5500 5499` in front of a PostgreSQL on
port 5499, then `errand-bench --store postgres://…@127.0.0.1:5500/…`.
asyncio's timers round up to the event loop's clock, so measure the round
trip it really adds (a loop of `SELECT 1`) rather than trusting DELAY_S."""
import asyncio
import socket
import sys

DELAY = float(sys.argv[1])
LISTEN = int(sys.argv[2])
TARGET = int(sys.argv[3])


async def pipe(reader, writer):
    loop = asyncio.get_running_loop()
    try:
        while data := await reader.read(65536):
            loop.call_later(DELAY, writer.write, data)  # in order: deadlines only grow
    finally:
        loop.call_later(DELAY * 2, writer.close)


async def handle(r1, w1):
    r2, w2 = await asyncio.open_connection("127.0.0.1", TARGET)
    for w in (w1, w2):
        w.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    await asyncio.gather(pipe(r1, w2), pipe(r2, w1), return_exceptions=True)


async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", LISTEN)
    async with server:
        await server.serve_forever()


asyncio.run(main())
