#!/usr/bin/env python3
"""Measures the server's peak memory while 24 clients send 31 MiB webhook bodies at once.

Usage: scripts/probe_bodies.py PID BASE_URL PATH [TOKEN]
Prints each answer's status line and the server's peak RSS (VmHWM) before and after.
Used for the figures in docs/security.md; not part of the test suite.
"""
import socket
import sys
import threading
from urllib.parse import urlparse

SIZE = 31 * 1024 * 1024
CLIENTS = 24


def hwm(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmHWM", "VmRSS")):
                print(" ", line.strip())


def client(host, port, path, token, results, i):
    s = socket.create_connection((host, port))
    s.settimeout(60)
    extra = f"x-omnihub-token: {token}\r\n" if token else ""
    head = (f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {SIZE}\r\n{extra}\r\n").encode()
    s.sendall(head)
    chunk = b" " * (1024 * 1024)
    sent = 0
    try:
        while sent < SIZE:
            s.sendall(chunk[: min(len(chunk), SIZE - sent)])
            sent += min(len(chunk), SIZE - sent)
    except OSError:
        pass  # the server answered and closed early
    try:
        results[i] = (s.recv(200).split(b"\r\n")[0].decode(), sent)
    except OSError as e:
        results[i] = (f"error {e}", sent)
    s.close()


def main():
    pid, base, path = sys.argv[1], sys.argv[2], sys.argv[3]
    token = sys.argv[4] if len(sys.argv) > 4 else None
    url = urlparse(base)
    print("before:")
    hwm(pid)
    results = [None] * CLIENTS
    threads = [threading.Thread(target=client, args=(url.hostname, url.port, path, token, results, i))
               for i in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = {}
    for status, sent in results:
        statuses[status] = statuses.get(status, 0) + 1
    print("answers:", statuses)
    print("bytes sent per client (min/max):", min(r[1] for r in results), max(r[1] for r in results))
    print("after:")
    hwm(pid)


if __name__ == "__main__":
    main()
