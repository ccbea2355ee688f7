"""A real HTTP server on loopback that answers webhooks as it is told (status, headers, a stall
until released) and records every request it received."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    method: str
    path: str
    headers: dict
    body: bytes


@dataclass
class Answer:
    status: int = 200
    headers: dict = field(default_factory=dict)
    body: bytes = b'{"ok": true}'
    stall: threading.Event | None = None  # answer only once this is set (a timeout, without sleeping)


class Receiver:
    def __init__(self):
        self.received: list[Received] = []
        self.script: list[Answer] = []
        self.default = Answer()
        self.hook = None  # called with (requests so far, "before" or "after" answering): a kill switch
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real endpoints
            disable_nagle_algorithm = True

            def _answer(self):
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                with receiver.lock:
                    receiver.received.append(Received(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                    answer = receiver.script.pop(0) if receiver.script else receiver.default
                    count = len(receiver.received)
                if receiver.hook:
                    receiver.hook(count, "before")
                if answer.stall is not None:
                    answer.stall.wait(10)
                self.send_response(answer.status)
                for k, v in {"content-type": "application/json", **answer.headers}.items():
                    self.send_header(k, v)
                self.send_header("content-length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)
                self.wfile.flush()
                if receiver.hook:
                    receiver.hook(count, "after")

            do_POST = do_PUT = do_GET = _answer

            def log_message(self, *args):
                pass

        class Server(ThreadingHTTPServer):
            def handle_error(self, request, client_address):
                pass  # a client that gave up (a timeout) before the stalled answer: expected

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def ids(self) -> list[str]:
        return [r.headers.get("webhook-id", "") for r in self.received]

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
