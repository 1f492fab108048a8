"""Opens N client connections to a gateway and holds them idle.

Usage: idle_clients.py HOST:PORT N MODE OPENED CLOSE
  MODE  h1: GET /v1/users/1 over HTTP/1.1 on each connection, its 200 read;
        h2c: the same over HTTP/2 with prior knowledge (one stream);
        fresh: connect and send nothing.
  OPENED, CLOSE: FIFOs. Once every connection is open and idle, the count is
  written to OPENED; the connections are closed when a line arrives on CLOSE.
  GATE (environment): how many connections are set up at once (default 500).
Used by benches/conn_memory.sh and benches/conn_heap.sh.
"""
import asyncio
import os
import struct
import sys

addr, n, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
host, port = addr.rsplit(":", 1)
HTTP1 = f"GET /v1/users/1 HTTP/1.1\r\nHost: {addr}\r\n\r\n".encode()


def frame(kind, flags, stream, payload):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload


def literal(index, value):
    # HPACK: literal without indexing, indexed name, no Huffman.
    value = value.encode()
    return bytes([index, len(value)]) + value


H2C = (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame(4, 0, 0, b"")
       + frame(1, 0x5, 1, b"\x82\x86" + literal(4, "/v1/users/1") + literal(1, addr)))


async def http1(reader, writer):
    writer.write(HTTP1)
    head = await reader.readuntil(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        raise SystemExit(f"not a 200: {head[:40]!r}")
    length = next(int(l.split(b":")[1]) for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:"))
    await reader.readexactly(length)


async def h2c(reader, writer):
    writer.write(H2C)
    while True:
        head = await reader.readexactly(9)
        kind, flags = head[3], head[4]
        stream = int.from_bytes(head[5:9], "big") & 0x7FFFFFFF
        payload = await reader.readexactly(int.from_bytes(head[:3], "big"))
        if kind == 4 and not flags & 1:
            writer.write(frame(4, 1, 0, b""))  # SETTINGS ack
        elif kind == 1 and stream == 1 and b"\x88" not in payload[:1]:
            raise SystemExit(f"not a 200: {payload[:8]!r}")
        elif kind in (3, 7):
            raise SystemExit(f"RST_STREAM or GOAWAY: {payload!r}")
        if stream == 1 and kind in (0, 1) and flags & 1:
            return


async def one(gate, held):
    async with gate:
        reader, writer = await asyncio.open_connection(host, int(port))
        if mode == "h1":
            await http1(reader, writer)
        elif mode == "h2c":
            await h2c(reader, writer)
        held.append(writer)


async def main():
    gate, held = asyncio.Semaphore(int(os.environ.get("GATE", "500"))), []
    await asyncio.gather(*(one(gate, held) for _ in range(n)))
    await asyncio.sleep(0.5)  # the gateway's last writes and reads settle
    with open(sys.argv[4], "w") as f:
        f.write(f"{len(held)}\n")
    await asyncio.get_running_loop().run_in_executor(None, lambda: open(sys.argv[5]).read())
    for w in held:
        w.close()
    await asyncio.gather(*(w.wait_closed() for w in held), return_exceptions=True)


if mode not in ("h1", "h2c", "fresh"):
    raise SystemExit(f"idle_clients.py: MODE is h1, h2c or fresh, not {mode!r}")
asyncio.run(main())
