#!/usr/bin/env python3
"""All parked connections wake at once.

Usage: wake.py PORT [N]. Opens N keep-alive connections to 127.0.0.1:PORT with
one request each, waits 1.5 s (fulcrum parks a connection 200 ms after its
response), then writes one request on every connection at once and reads every
answer. Prints how many were answered 200 and the latency percentiles, from
the write of the first request to each answer.
"""
import selectors, socket, sys, time

port = int(sys.argv[1])
n = int(sys.argv[2]) if len(sys.argv) > 2 else 15000
req = b"GET / HTTP/1.1\r\nHost: x\r\nx-user: u%d\r\n\r\n"
conns = []
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.sendall(req % i)
    s.recv(65536)
    conns.append(s)
time.sleep(1.5)
sel = selectors.DefaultSelector()
start = time.monotonic()
for i, s in enumerate(conns):
    s.sendall(req % i)
for s in conns:
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ)
lat, ok, lost, other = [], 0, 0, {}
deadline = start + 60
while len(lat) + lost < n and time.monotonic() < deadline:
    for key, _ in sel.select(timeout=1):
        s = key.fileobj
        data = s.recv(65536)
        sel.unregister(s)
        if data.startswith(b"HTTP/1.1 200"):
            ok += 1
            lat.append(time.monotonic() - start)
        else:
            lost += 1
            status = data[9:12].decode() if data.startswith(b"HTTP/1.1 ") else "closed"
            other[status] = other.get(status, 0) + 1
lat.sort()
pct = lambda p: lat[min(len(lat) - 1, int(len(lat) * p))] * 1000 if lat else float("nan")
print(f"woken={n} answered_200={ok} other_or_closed={lost} unanswered={n - ok - lost} "
      f"p50_ms={pct(0.5):.1f} p99_ms={pct(0.99):.1f} max_ms={pct(1.0):.1f} other={other}")
