"""A loopback HTTP server for judge tests: speaks Gemini generateContent (+ the Files API upload, get, delete) and
OpenAI chat/completions, with scripted faults. Bound to 127.0.0.1, threads are daemons, sleeps are bounded."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable


def instance_from_schema(schema: dict[str, Any]) -> Any:
    """A minimal valid value for a schema (first enum value, minItems items, minimum numbers)."""
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    kind = kind[0] if isinstance(kind, list) else kind
    if kind == "object":
        return {k: instance_from_schema(v) for k, v in schema.get("properties", {}).items()}
    if kind == "array":
        return [instance_from_schema(schema.get("items", {})) for _ in range(schema.get("minItems", 0))]
    if kind in ("number", "integer"):
        return schema.get("minimum", 1)
    if kind == "boolean":
        return False
    return "x"


class Loopback:
    def __init__(self, answer: Callable[[dict[str, Any] | None, dict[str, Any]], Any] | None = None):
        self.answer = answer or (lambda schema, body: instance_from_schema(schema or {}))
        self.script: deque = deque()  # per model call: "ok", 429, 500, "malformed", "truncated", ("sleep", s), ("status", code, text), ("text", answer)
        # and ("body", text): an HTTP 200 whose body is that raw text (not JSON, or JSON cut off)
        self.requests: list[dict[str, Any]] = []
        self.files: dict[str, int] = {}
        self.deleted: list[str] = []
        self.usage = (100, 20)
        self.in_flight = 0
        self.max_in_flight = 0
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def model_calls(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["path"].endswith((":generateContent", "/chat/completions"))]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # behaviour -------------------------------------------------------------
    def _next(self):
        with self.lock:
            return self.script.popleft() if self.script else "ok"

    def _answer_text(self, schema, body, step) -> str:
        if isinstance(step, tuple) and step[0] == "text":
            return step[1]
        data = self.answer(schema, body)
        text = data if isinstance(data, str) else json.dumps(data)
        if step == "malformed":
            return "Sure! Here is my verdict: verdict=match, all good."
        if step == "truncated":
            return text[: max(1, len(text) // 2)]
        return text

    def _handler(self):
        loop = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def _send(self, code: int, payload: Any, headers: dict[str, str] | None = None) -> None:
                raw = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                try:
                    self.wfile.write(raw)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout tests)

            def _record(self, body: bytes) -> Any:
                try:
                    parsed = json.loads(body) if body else None
                except ValueError:
                    parsed = None
                entry = {"method": self.command, "path": self.path.split("?")[0], "query": self.path.partition("?")[2],
                         "headers": {k.lower(): v for k, v in self.headers.items()}, "json": parsed, "size": len(body)}
                with loop.lock:
                    loop.requests.append(entry)
                return parsed

            def do_GET(self):
                self._record(b"")
                name = "files/" + self.path.split("?")[0].rsplit("/", 1)[-1]
                self._send(200, loop._file(name))

            def do_DELETE(self):
                self._record(b"")
                name = "files/" + self.path.split("?")[0].rsplit("/", 1)[-1]
                loop.deleted.append(name)
                self._send(200, {})

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parsed = self._record(body)
                path = self.path.split("?")[0]
                if path.startswith("/upload/") and "files" in path:
                    fid = f"files/up{len(loop.files)}"
                    loop.files[fid] = 0
                    return self._send(200, {}, {"x-goog-upload-url": f"{loop.url}/upload-session/{fid.split('/')[1]}"})
                if path.startswith("/upload-session/"):
                    fid = "files/" + path.rsplit("/", 1)[1]
                    loop.files[fid] += len(body)
                    return self._send(200, {"file": loop._file(fid)}, {"x-goog-upload-status": "final"})
                if path.endswith(":generateContent"):
                    return self._model_call(parsed, gemini=True)
                if path.endswith("/chat/completions"):
                    return self._model_call(parsed, gemini=False)
                self._send(404, {"error": {"message": f"no route {path}"}})

            def _model_call(self, body, gemini: bool):
                with loop.lock:
                    loop.in_flight += 1
                    loop.max_in_flight = max(loop.max_in_flight, loop.in_flight)
                try:
                    self._model_reply(body, gemini)
                finally:
                    with loop.lock:
                        loop.in_flight -= 1

            def _model_reply(self, body, gemini: bool):
                step = loop._next()
                if isinstance(step, tuple) and step[0] == "sleep":
                    time.sleep(min(step[1], 5.0))
                    step = "ok"
                if isinstance(step, int):
                    return self._send(step, {"error": {"code": step, "message": f"scripted {step}", "status": "SCRIPTED"}})
                if isinstance(step, tuple) and step[0] == "body":
                    return self._send(200, step[1])
                if isinstance(step, tuple) and step[0] == "status":
                    return self._send(step[1], {"error": {"code": step[1], "message": step[2], "status": "SCRIPTED"}})
                if gemini:
                    schema = (body.get("generationConfig") or {}).get("responseJsonSchema")
                    text = loop._answer_text(schema, body, step)
                    return self._send(200, {
                        "candidates": [{"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": "STOP", "index": 0}],
                        "usageMetadata": {"promptTokenCount": loop.usage[0], "candidatesTokenCount": loop.usage[1],
                                          "totalTokenCount": sum(loop.usage)}})
                fmt = body.get("response_format") or {}
                schema = (fmt.get("json_schema") or {}).get("schema") or _schema_in_text(body)
                text = loop._answer_text(schema, body, step)
                return self._send(200, {
                    "id": "chatcmpl-1", "object": "chat.completion", "created": int(time.time()), "model": body.get("model"),
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": loop.usage[0], "completion_tokens": loop.usage[1], "total_tokens": sum(loop.usage)}})

        return Handler

    def _file(self, name: str) -> dict[str, Any]:
        return {"name": name, "uri": f"{self.url}/v1beta/{name}", "mimeType": "video/mp4", "state": "ACTIVE",
                "sizeBytes": str(self.files.get(name, 0))}


def _schema_in_text(body: dict[str, Any]) -> dict[str, Any] | None:
    """The schema a client wrote into its prompt when the server does not enforce one."""
    for message in body.get("messages", []):
        content = message.get("content")
        for part in content if isinstance(content, list) else []:
            text = part.get("text", "") if part.get("type") == "text" else ""
            if "following this JSON schema:" in text:
                return json.loads(text.split("following this JSON schema:", 1)[1])
    return None
