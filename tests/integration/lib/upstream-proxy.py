#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A minimal CONNECT proxy for the chaining tests: prints its port, then logs every
request line to the file given as argv[1]. Loopback only; exits after 60 s."""
import select
import socket
import sys
import threading

log = open(sys.argv[1], 'a', buffering=1)
srv = socket.socket()
srv.bind(('127.0.0.1', 0))
srv.listen(16)
print(srv.getsockname()[1], flush=True)


def relay(a, b):
    try:
        while True:
            r, _, _ = select.select([a, b], [], [], 30)
            if not r:
                return
            for s in r:
                data = s.recv(65536)
                if not data:
                    return
                (b if s is a else a).sendall(data)
    finally:
        a.close()
        b.close()


def handle(c):
    head = b''
    while b'\r\n\r\n' not in head and len(head) < 16384:
        chunk = c.recv(4096)
        if not chunk:
            return c.close()
        head += chunk
    line = head.split(b'\r\n', 1)[0].decode(errors='replace')
    log.write(line + '\n')
    method, target = line.split(' ')[:2]
    if method != 'CONNECT':
        c.sendall(b'HTTP/1.1 405 Method Not Allowed\r\n\r\n')
        return c.close()
    host, port = target.rsplit(':', 1)
    try:
        up = socket.create_connection((host.strip('[]'), int(port)), timeout=5)
    except OSError:
        c.sendall(b'HTTP/1.1 502 Bad Gateway\r\n\r\n')
        return c.close()
    c.sendall(b'HTTP/1.1 200 Connection established\r\n\r\n')
    relay(c, up)


srv.settimeout(60)
while True:
    try:
        conn, _ = srv.accept()
    except OSError:
        break
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
