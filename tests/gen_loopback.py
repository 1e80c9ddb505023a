"""A loopback HTTP server speaking one video provider's protocol (submit, poll, download), with scripted faults.

A `Protocol` says which requests are submits and polls and how the provider shapes its answers; the server keeps
the jobs, counts submits, and injects faults queued per phase: an HTTP status (429, 503), or "truncate" (a body
cut short of its Content-Length, then the connection closed), or "slow" (the request is handled, but only after
`slow_seconds`, so a client with a shorter read timeout never sees the answer). Prompts steer the job's fate: "FAILME" fails,
"REFUSEME" is refused by the content check at poll time, "REFUSE-AT-SUBMIT" at submit time.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Protocol:
    inline_video = False  # the finished poll answer carries the video (Veo): download faults apply to it
    client_agent = ""  # the User-Agent (part) of the client that must send the submits and polls

    def is_submit(self, method: str, path: str) -> bool: ...
    def prompt_of(self, body: Any) -> str: ...
    def submit_reply(self, job_id: str) -> dict: ...
    def submit_refusal(self) -> tuple[int, dict]: ...
    def poll_job(self, method: str, path: str, body: Any) -> str | None: ...
    def poll_reply(self, job_id: str, state: str, url: str) -> dict: ...
    def check_auth(self, headers) -> bool:
        return True
    def submit_headers_ok(self, headers) -> bool:
        return True
    def extra(self, server: "Loopback", method: str, path: str) -> tuple[int, dict] | None:
        return None


class Loopback:
    def __init__(self, protocol: Protocol, video: bytes, polls_before_done: int = 1):
        self.protocol, self.video, self.polls_before_done = protocol, video, polls_before_done
        protocol.server = self  # for answers that carry absolute URLs
        self.faults: dict[str, list] = {"submit": [], "poll": [], "download": []}
        self.jobs: dict[str, dict] = {}
        self.submits = 0
        self.slow_seconds = 1.0
        self.log: list[tuple[str, str, dict, Any]] = []  # method, path, headers, JSON body
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _body(self):
                n = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(n) if n else b""
                try:
                    return json.loads(raw) if raw else None
                except ValueError:
                    return None

            def _send(self, status: int, payload: bytes, ctype: str = "application/json", truncate: bool = False):
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(payload)))
                if truncate:
                    self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(payload[: len(payload) // 2] if truncate else payload)
                if truncate:
                    self.wfile.flush()
                    self.close_connection = True

            def _json(self, status: int, data: dict, truncate: bool = False):
                self._send(status, json.dumps(data).encode(), truncate=truncate)

            def _fault(self, phase: str) -> bool:
                with server._lock:
                    fault = server.faults[phase].pop(0) if server.faults[phase] else None
                if fault == "slow":
                    time.sleep(server.slow_seconds)
                    return False
                if fault is None or fault == "truncate":
                    self._truncate = fault == "truncate"
                    return False
                self._json(int(fault), {"error": {"code": int(fault), "message": f"injected {fault}"}})
                return True

            def _handle(self):
                method, path, body = self.command, self.path.split("?", 1)[0], self._body()
                server.log.append((method, path, dict(self.headers), body))
                self._truncate = False
                p = server.protocol
                if not path.startswith("/files/") and not p.check_auth(self.headers):
                    return self._json(401, {"error": "bad credentials"})
                if path.startswith("/files/"):  # signed public links: no credentials expected
                    if self._fault("download"):
                        return
                    return self._send(200, server.video, "video/mp4", truncate=self._truncate)
                if p.is_submit(method, path):
                    if not p.submit_headers_ok(self.headers):
                        return self._json(403, {"code": "AccessDenied", "message": "synchronous calls not supported"})
                    if self._fault("submit"):
                        return
                    prompt = p.prompt_of(body)
                    if "REFUSE-AT-SUBMIT" in prompt:
                        return self._json(*p.submit_refusal())
                    job_id = uuid.uuid4().hex[:12]
                    with server._lock:
                        server.submits += 1
                        server.jobs[job_id] = {"prompt": prompt, "polls": 0}
                    return self._json(200, p.submit_reply(job_id))
                job_id = p.poll_job(method, path, body)
                if job_id is not None:
                    job = server.jobs.get(job_id)
                    if job is None:
                        return self._json(404, {"error": "no such job"})
                    if self._fault("poll"):
                        return
                    job["polls"] += 1
                    state = "running"
                    if job["polls"] > server.polls_before_done:
                        state = "failed" if "FAILME" in job["prompt"] else "refused" if "REFUSEME" in job["prompt"] else "done"
                    if state == "done" and p.inline_video and self._fault("download"):
                        return
                    url = f"http://127.0.0.1:{server.port}/files/{job_id}.mp4"
                    return self._json(200, p.poll_reply(job_id, state, url), truncate=self._truncate)
                extra = p.extra(server, method, path)
                if extra is not None:
                    return self._json(*extra)
                return self._json(404, {"error": f"no route {method} {path}"})

            do_GET = do_POST = _handle

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> "Loopback":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
