"""A TCP proxy that limits each direction to a rate (a stand-in for a
1 Gbit/s link without root, tc or network namespaces), and counts the bytes
it forwards (the bytes on the client's socket).

Each direction is paced separately (a full-duplex link) by a virtual clock:
every piece read from one side moves the time at which that direction's link
is next idle by its size / RATE, and the proxy stops forwarding while the
bytes written are more than LEAD seconds ahead of that clock (a token bucket
of RATE x LEAD bytes; it sleeps until 1 ms of lead is left, since the event
loop's timers are only as fine as 1 ms). The long-run rate is RATE exactly,
the burst at most LEAD x RATE + a piece (0.5 + 0.26 MB at 125 MB/s). No
latency is added. RATE 0 forwards at full speed and only counts.

On SIGUSR1 it prints `bytes UP DOWN`: the bytes forwarded so far, all
connections together, client to server (UP) and back (DOWN).

usage: python bench/throttle_proxy.py TARGET_HOST:PORT RATE_BYTES_PER_S
       (listens on 127.0.0.1, a free port; prints `listening PORT`)
"""

import asyncio
import signal
import sys
import time

PIECE = 256 << 10
LEAD = 0.004  # seconds
totals = {"up": 0, "down": 0}


async def pump(reader, writer, rate, direction):
    """Copies reader to writer, paced at `rate` bytes/s (0: unpaced)."""
    free_at = time.monotonic()  # when this direction's link is next idle
    try:
        while True:
            data = await reader.read(PIECE)
            if not data:
                break
            if rate:
                now = time.monotonic()
                free_at = max(free_at, now) + len(data) / rate
                if free_at - now > LEAD:
                    await asyncio.sleep(free_at - now - 0.001)
            writer.write(data)
            totals[direction] += len(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        if writer.can_write_eof():
            try:
                writer.write_eof()
            except (OSError, RuntimeError):
                pass


async def main():
    host, port = sys.argv[1].rsplit(":", 1)
    rate = float(sys.argv[2])

    async def connection(client_reader, client_writer):
        try:
            server_reader, server_writer = await asyncio.open_connection(host, int(port))
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(
            pump(client_reader, server_writer, rate, "up"),
            pump(server_reader, client_writer, rate, "down"),
        )
        client_writer.close()
        server_writer.close()

    def report():
        print(f"bytes {totals['up']} {totals['down']}", flush=True)

    asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, report)
    server = await asyncio.start_server(connection, "127.0.0.1", 0)
    print(f"listening {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
