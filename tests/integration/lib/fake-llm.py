#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A local HTTPS fake of the LLM provider APIs the agents talk to, for agents.bats.

    fake-llm.py --port-file FILE --cert PEM --key PEM --log FILE --reply TEXT
                [--addr ADDR] [--port N]

Listens on ADDR:N (127.0.0.1, kernel-chosen port by default; written to FILE). Every request is logged as
"REQ METHOD PATH" plus "H name: value" for the credential headers. Answers one prompt:
  POST .../messages                      Anthropic Messages (SSE when "stream": true)
  POST .../responses                     OpenAI Responses (SSE when "stream": true)
  GET .../responses, Upgrade: websocket  OpenAI Responses over WebSocket: each
                                         "response.create" message is answered with the
                                         streamed events as text messages (logged "WS TYPE")
  POST .../chat/completions              OpenAI Chat Completions (SSE when "stream")
  POST ...:generateContent / :streamGenerateContent   Gemini
  anything else                          404 JSON error
"""
import argparse
import base64
import hashlib
import http.server
import json
import ssl
import struct
import threading

CRED_HEADERS = ("x-api-key", "authorization", "x-goog-api-key", "api-key")


def sse(events):
    out = b""
    for name, data in events:
        if name:
            out += b"event: " + name.encode() + b"\n"
        out += b"data: " + json.dumps(data).encode() + b"\n\n"
    return out


def anthropic(req, reply):
    msg = {"id": "msg_fake", "type": "message", "role": "assistant", "model": req.get("model", "m"),
           "content": [{"type": "text", "text": reply}], "stop_reason": "end_turn",
           "stop_sequence": None, "usage": {"input_tokens": 1, "output_tokens": 1}}
    if not req.get("stream"):
        return "application/json", json.dumps(msg).encode()
    start = dict(msg, content=[], stop_reason=None)
    return "text/event-stream", sse([
        ("message_start", {"type": "message_start", "message": start}),
        ("content_block_start", {"type": "content_block_start", "index": 0,
                                 "content_block": {"type": "text", "text": ""}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                 "delta": {"type": "text_delta", "text": reply}}),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn",
                                                               "stop_sequence": None},
                           "usage": {"output_tokens": 1}}),
        ("message_stop", {"type": "message_stop"}),
    ])


def responses(req, reply):
    item = {"id": "msg_fake", "type": "message", "role": "assistant", "status": "completed",
            "content": [{"type": "output_text", "text": reply, "annotations": []}]}
    resp = {"id": "resp_fake", "object": "response", "created_at": 0, "status": "completed",
            "model": req.get("model", "m"), "output": [item], "error": None,
            "incomplete_details": None,
            "usage": {"input_tokens": 1, "output_tokens": 1, "total_tokens": 2,
                      "input_tokens_details": {"cached_tokens": 0},
                      "output_tokens_details": {"reasoning_tokens": 0}}}
    if not req.get("stream"):
        return "application/json", json.dumps(resp).encode()
    inprog = dict(resp, status="in_progress", output=[])
    added = dict(item, status="in_progress", content=[])
    part = {"type": "output_text", "text": "", "annotations": []}
    return "text/event-stream", sse([
        ("response.created", {"type": "response.created", "sequence_number": 0, "response": inprog}),
        ("response.output_item.added", {"type": "response.output_item.added", "sequence_number": 1,
                                        "output_index": 0, "item": added}),
        ("response.content_part.added", {"type": "response.content_part.added", "sequence_number": 2,
                                         "item_id": "msg_fake", "output_index": 0,
                                         "content_index": 0, "part": part}),
        ("response.output_text.delta", {"type": "response.output_text.delta", "sequence_number": 3,
                                        "item_id": "msg_fake", "output_index": 0,
                                        "content_index": 0, "delta": reply, "logprobs": []}),
        ("response.output_text.done", {"type": "response.output_text.done", "sequence_number": 4,
                                       "item_id": "msg_fake", "output_index": 0,
                                       "content_index": 0, "text": reply, "logprobs": []}),
        ("response.content_part.done", {"type": "response.content_part.done", "sequence_number": 5,
                                        "item_id": "msg_fake", "output_index": 0,
                                        "content_index": 0,
                                        "part": dict(part, text=reply)}),
        ("response.output_item.done", {"type": "response.output_item.done", "sequence_number": 6,
                                       "output_index": 0, "item": item}),
        ("response.completed", {"type": "response.completed", "sequence_number": 7,
                                "response": resp}),
    ])


def chat(req, reply):
    if not req.get("stream"):
        return "application/json", json.dumps({
            "id": "c", "object": "chat.completion", "created": 0, "model": req.get("model", "m"),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": reply},
                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}).encode()
    base = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": req.get("model", "m")}
    body = sse([(None, dict(base, choices=[{"index": 0, "delta": {"role": "assistant", "content": reply},
                                            "finish_reason": None}])),
                (None, dict(base, choices=[{"index": 0, "delta": {}, "finish_reason": "stop"}]))])
    return "text/event-stream", body + b"data: [DONE]\n\n"


def gemini(req, reply, stream):
    resp = {"candidates": [{"content": {"role": "model", "parts": [{"text": reply}]},
                            "finishReason": "STOP", "index": 0}],
            "usageMetadata": {"promptTokenCount": 1, "candidatesTokenCount": 1,
                              "totalTokenCount": 2}, "modelVersion": "gemini-fake"}
    if not stream:
        return "application/json", json.dumps(resp).encode()
    return "text/event-stream", sse([(None, resp)])


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def record(self):
        with self.server.lock, open(self.server.log, "a") as f:
            f.write("REQ %s %s\n" % (self.command, self.path))
            for k, v in self.headers.items():
                if k.lower() in CRED_HEADERS:
                    f.write("H %s: %s\n" % (k.lower(), v))

    def answer(self, status, ctype, body):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.record()
        if (self.path.split("?")[0].endswith("/responses") and
                self.headers.get("Upgrade", "").lower() == "websocket"):
            return self.websocket()
        self.answer(404, "application/json", b'{"error":{"message":"not found"}}')

    def ws_send(self, opcode, data):
        n = len(data)
        head = bytes([0x80 | opcode])
        if n < 126:
            head += bytes([n])
        elif n < 65536:
            head += bytes([126]) + struct.pack("!H", n)
        else:
            head += bytes([127]) + struct.pack("!Q", n)
        self.wfile.write(head + data)
        self.wfile.flush()

    def ws_recv(self):
        """One message: (opcode, payload); (None, b"") at EOF."""
        data, first = b"", None
        while True:
            h = self.rfile.read(2)
            if len(h) < 2:
                return None, b""
            fin, op, n = h[0] & 0x80, h[0] & 0x0F, h[1] & 0x7F
            if n == 126:
                n = struct.unpack("!H", self.rfile.read(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", self.rfile.read(8))[0]
            mask = self.rfile.read(4) if h[1] & 0x80 else b"\0\0\0\0"
            chunk = bytes(b ^ mask[i % 4] for i, b in enumerate(self.rfile.read(n)))
            if op >= 8:  # control frames come whole, between fragments too
                return op, chunk
            first = op if first is None else first
            data += chunk
            if fin:
                return first, data

    def websocket(self):
        key = self.headers.get("Sec-WebSocket-Key", "")
        accept = base64.b64encode(hashlib.sha1(
            (key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
        self.send_response(101)
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept)
        self.end_headers()
        self.wfile.flush()
        self.close_connection = True
        while True:
            op, data = self.ws_recv()
            if op is None or op == 8:
                if op == 8:
                    self.ws_send(8, data[:2])
                return
            if op == 9:
                self.ws_send(10, data)
                continue
            if op != 1:
                continue
            try:
                req = json.loads(data)
            except ValueError:
                req = {}
            with self.server.lock, open(self.server.log, "a") as f:
                f.write("WS %s\n" % req.get("type", "-"))
            if req.get("type") != "response.create":
                continue
            _, body = responses(dict(req, stream=True), self.server.reply)
            for block in body.split(b"\n\n"):
                for line in block.split(b"\n"):
                    if line.startswith(b"data: "):
                        self.ws_send(1, line[len(b"data: "):])

    def do_POST(self):
        self.record()
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b"{}"
        try:
            req = json.loads(raw or b"{}")
        except ValueError:
            req = {}
        path = self.path.split("?")[0]
        reply = self.server.reply
        if path.endswith("/messages"):
            r = anthropic(req, reply)
        elif path.endswith("/responses"):
            r = responses(req, reply)
        elif path.endswith("/chat/completions"):
            r = chat(req, reply)
        elif path.endswith(":streamGenerateContent"):
            r = gemini(req, reply, True)
        elif path.endswith(":generateContent"):
            # gemini-cli's model router asks for a JSON choice first.
            if b"model_choice" in raw:
                reply = json.dumps({"reasoning": "fake", "model_choice": "flash"})
            r = gemini(req, reply, False)
        else:
            return self.answer(404, "application/json", b'{"error":{"message":"not found"}}')
        self.answer(200, *r)


def main():
    ap = argparse.ArgumentParser()
    for a in ("port-file", "cert", "key", "log", "reply"):
        ap.add_argument("--" + a, required=True)
    ap.add_argument("--addr", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    o = ap.parse_args()
    srv = http.server.ThreadingHTTPServer((o.addr, o.port), Handler)
    srv.daemon_threads = True
    srv.lock = threading.Lock()
    srv.log, srv.reply = o.log, o.reply
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(o.cert, o.key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    with open(o.port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    import os
    os.rename(o.port_file + ".tmp", o.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
