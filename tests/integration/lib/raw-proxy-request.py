#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Send raw proxy requests (curl would normalise hostile host spellings first).

Usage: raw-proxy-request.py [--token T|--no-token] METHOD TARGET...
The proxy address comes from HTTPS_PROXY (http://user:token@127.0.0.1:port). Prints
"TARGET STATUS" per target (STATUS 0 when the connection failed)."""
import base64
import os
import socket
import sys
from urllib.parse import urlsplit

args = sys.argv[1:]
u = urlsplit(os.environ['HTTPS_PROXY'])
token = u.password
if args[0] == '--no-token':
    token, args = None, args[1:]
elif args[0] == '--token':
    token, args = args[1], args[2:]
method, targets = args[0], args[1:]
for t in targets:
    status = 0
    try:
        s = socket.create_connection((u.hostname, u.port), timeout=10)
        if method == 'CONNECT':
            line = f'CONNECT {t} HTTP/1.1\r\nHost: {t}\r\n'
        else:
            line = f'GET http://{t}/ HTTP/1.1\r\nHost: {t}\r\n'
        if token is not None:
            cred = base64.b64encode(f'nono:{token}'.encode()).decode()
            line += f'Proxy-Authorization: Basic {cred}\r\n'
        s.sendall((line + '\r\n').encode())
        reply = s.recv(4096).decode(errors='replace')
        status = int(reply.split(' ')[1]) if reply.startswith('HTTP/') else 0
        s.close()
    except (OSError, ValueError, IndexError):
        pass
    print(f'{t} {status}', flush=True)
