#!/usr/bin/env python3
"""Memory per idle HTTP/2-over-TLS connection of a proxy process tree.

Usage: idle_tls_h2.py PID PORT [N]. Opens N TLS connections (ALPN h2, the
certificate not checked) to 127.0.0.1:PORT, sends one GET on each as
idle_h2.py does, keeps them open, and prints the growth of the resident set
of PID and its descendants per connection, in KiB. For fulcrum:
`fulcrum run -c bench/fulcrum-tls.yaml` (its certificate as compare.sh
makes it).
"""
import socket, ssl, sys

sys.path.insert(0, __import__("os").path.dirname(__file__))
from idle import measure  # noqa: E402  (idle.py's measure, shared)
from idle_h2 import exchange  # noqa: E402

CTX = ssl.create_default_context()
CTX.check_hostname = False
CTX.verify_mode = ssl.CERT_NONE
CTX.set_alpn_protocols(["h2"])


def tls_h2(port, i):
    s = CTX.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10), server_hostname="localhost")
    if s.selected_alpn_protocol() != "h2":
        raise SystemExit(f"connection {i}: ALPN chose {s.selected_alpn_protocol()!r}, not h2")
    exchange(s, i)
    return s


if __name__ == "__main__":
    measure(tls_h2, "idle_tls_h2_conns")
