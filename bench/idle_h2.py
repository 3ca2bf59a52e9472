#!/usr/bin/env python3
"""Memory per idle HTTP/2 (h2c, prior knowledge) connection of a proxy process tree.

Usage: idle_h2.py PID PORT [N]. Opens N connections to 127.0.0.1:PORT, sends the
HTTP/2 preface and one GET on each, reads the whole answer (acking the server's
SETTINGS), keeps them open, and prints the growth of the resident set of PID and
its descendants per connection, in KiB. The same measure as idle.py, over h2c.
"""
import socket, struct, sys

sys.path.insert(0, __import__("os").path.dirname(__file__))
from idle import measure  # noqa: E402  (idle.py's measure, shared)

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
END_STREAM, END_HEADERS, ACK = 0x1, 0x4, 0x1


def frame(kind, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload


def get(i):
    # HPACK: :method GET, :scheme http, :path / (static indexes); :authority
    # and x-user as literals without indexing
    user = b"u%d" % i
    block = b"\x82\x86\x84\x01\x01x" + b"\x00\x06x-user" + bytes([len(user)]) + user
    return frame(1, END_STREAM | END_HEADERS, 1, block)


def exchange(s, i):
    s.sendall(PREFACE + frame(4, 0, 0) + get(i))
    buf = b""
    while True:
        while len(buf) >= 9:
            length = int.from_bytes(buf[:3], "big")
            if len(buf) < 9 + length:
                break
            kind, flags, stream = buf[3], buf[4], int.from_bytes(buf[5:9], "big") & 0x7FFFFFFF
            buf = buf[9 + length:]
            if kind == 4 and not flags & ACK:
                s.sendall(frame(4, ACK, 0))
            if stream == 1 and kind in (0, 1) and flags & END_STREAM:
                return
        chunk = s.recv(65536)
        if not chunk:
            raise SystemExit(f"connection {i} closed before its answer")
        buf += chunk


def h2c(port, i):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    exchange(s, i)
    return s


if __name__ == "__main__":
    measure(h2c, "idle_h2_conns")
