"""The wire shapes of each API provider, for the loopback server (tests/gen_loopback.py): what a submit, a poll
answer (running, done, failed, refused) and a submit-time refusal look like, how each checks its credentials, and
which client must send the calls (`client_agent`: the official SDK's User-Agent, or requests for the REST ones).
The answers carry the fields the official SDKs need to parse them (the SDKs themselves are what the tests run)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

from gen_loopback import Protocol

SECRET = "sk-LOOPBACK-SECRET-9f3c2e"
KLING_ACCESS, KLING_SECRET = "ak-LOOPBACK-ACCESS-77", "sk-LOOPBACK-KLING-SECRET-41"


class Veo(Protocol):
    name, env, inline_video = "veo", {"GOOGLE_API_KEY": SECRET}, True
    client_agent = "google-genai-sdk/"

    def __init__(self, video: bytes):
        self.video = video

    def check_auth(self, h):
        return h.get("x-goog-api-key") == SECRET

    def is_submit(self, m, p):
        return m == "POST" and p.endswith(":predictLongRunning")

    def prompt_of(self, b):
        return b["instances"][0]["prompt"]

    def submit_reply(self, job):
        return {"name": f"projects/p/locations/us-central1/publishers/google/models/veo-3.1-generate-001/operations/{job}"}

    def submit_refusal(self):
        return 400, {"error": {"code": 400, "status": "INVALID_ARGUMENT",
                               "message": "The prompt contains words that violate the usage guidelines (Responsible AI policy)."}}

    def poll_job(self, m, p, b):
        return b["operationName"].rsplit("/", 1)[1] if m == "POST" and p.endswith(":fetchPredictOperation") else None

    def poll_reply(self, job, state, url):
        name = self.submit_reply(job)["name"]
        if state == "running":
            return {"name": name, "done": False}
        if state == "failed":
            return {"name": name, "done": True, "error": {"code": 13, "message": "Internal error encountered."}}
        if state == "refused":
            return {"name": name, "done": True, "response": {"raiMediaFilteredCount": 1, "raiMediaFilteredReasons": [
                "Unable to generate videos that violate the usage guidelines."]}}
        return {"name": name, "done": True, "response": {"videos": [
            {"bytesBase64Encoded": base64.b64encode(self.video).decode(), "mimeType": "video/mp4"}]}}


class Wan(Protocol):
    name, env = "wan", {"DASHSCOPE_API_KEY": SECRET}
    client_agent = "python-requests/"

    def check_auth(self, h):
        return h.get("Authorization") == f"Bearer {SECRET}"

    def submit_headers_ok(self, h):  # video synthesis is asynchronous only
        return h.get("X-DashScope-Async") == "enable"

    def is_submit(self, m, p):
        return m == "POST" and p == "/api/v1/services/aigc/video-generation/video-synthesis"

    def prompt_of(self, b):
        assert b["parameters"]["size"] == "1280*720" and b["parameters"]["duration"] == 10
        return b["input"]["prompt"]

    def submit_reply(self, job):
        return {"output": {"task_id": job, "task_status": "PENDING"}, "request_id": "req-1"}

    def submit_refusal(self):
        return 400, {"code": "DataInspectionFailed", "message": "Input data may contain inappropriate content.", "request_id": "r"}

    def poll_job(self, m, p, b):
        return p.rsplit("/", 1)[1] if m == "GET" and p.startswith("/api/v1/tasks/") else None

    def poll_reply(self, job, state, url):
        out = {"task_id": job, "task_status": "RUNNING"}
        if state == "done":
            out.update(task_status="SUCCEEDED", video_url=url)
        elif state == "failed":
            out.update(task_status="FAILED", code="InternalError", message="Internal server error during synthesis")
        elif state == "refused":
            out.update(task_status="FAILED", code="DataInspectionFailed", message="Output data may contain inappropriate content.")
        return {"output": out, "request_id": "req-2"}


def _unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


class Kling(Protocol):
    name, env = "kling", {"KLING_ACCESS_KEY": KLING_ACCESS, "KLING_SECRET_KEY": KLING_SECRET}
    client_agent = "python-requests/"

    def check_auth(self, h):
        auth = h.get("Authorization", "")
        if not auth.startswith("Bearer "):
            return False
        header, payload, sig = auth[7:].split(".")
        good = hmac.new(KLING_SECRET.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
        claims = json.loads(_unb64(payload))
        return (hmac.compare_digest(good, _unb64(sig)) and json.loads(_unb64(header))["alg"] == "HS256"
                and claims["iss"] == KLING_ACCESS and claims["nbf"] <= time.time() < claims["exp"])

    def is_submit(self, m, p):
        return m == "POST" and p == "/v1/videos/text2video"

    def prompt_of(self, b):
        assert b["duration"] == "10" and b["sound"] == "on"
        return b["prompt"]

    def submit_reply(self, job):
        return {"code": 0, "message": "SUCCEED", "request_id": "r", "data": {"task_id": job, "task_status": "submitted"}}

    def submit_refusal(self):
        return 400, {"code": 1301, "message": "Trigger the content security policy of the platform", "request_id": "r"}

    def poll_job(self, m, p, b):
        return p.rsplit("/", 1)[1] if m == "GET" and p.startswith("/v1/videos/text2video/") else None

    def poll_reply(self, job, state, url):
        data = {"task_id": job, "task_status": "processing"}
        if state == "done":
            data.update(task_status="succeed", task_result={"videos": [{"id": "v1", "url": url, "duration": "10"}]})
        elif state == "failed":
            data.update(task_status="failed", task_status_msg="Internal error, please try again later")
        elif state == "refused":
            data.update(task_status="failed", task_status_msg="Failure to pass the risk control system")
        return {"code": 0, "message": "SUCCEED", "data": data}


class Replicate(Protocol):
    name, env = "replicate", {"REPLICATE_API_TOKEN": SECRET}
    client_agent = "replicate-python/"

    def check_auth(self, h):
        return h.get("Authorization") == f"Bearer {SECRET}"

    def is_submit(self, m, p):
        return m == "POST" and p == "/v1/models/google/veo-3.1/predictions"

    def prompt_of(self, b):
        assert b["input"]["duration"] == 8 and b["input"]["generate_audio"] is True
        return b["input"]["prompt"]

    def _prediction(self, job, status, **extra):
        return {"id": job, "model": "google/veo-3.1", "version": "hidden", "status": status, "input": {}, "logs": "",
                "urls": {"get": f"/v1/predictions/{job}", "cancel": f"/v1/predictions/{job}/cancel"}, **extra}

    def submit_reply(self, job):
        return self._prediction(job, "starting")

    def submit_refusal(self):
        return 422, {"detail": "The input was flagged as sensitive. (E005)", "status": 422}

    def poll_job(self, m, p, b):
        return p.rsplit("/", 1)[1] if m == "GET" and p.startswith("/v1/predictions/") else None

    def poll_reply(self, job, state, url):
        if state == "done":
            return self._prediction(job, "succeeded", output=url)
        if state == "failed":
            return self._prediction(job, "failed", error="CUDA error: out of memory")
        if state == "refused":
            return self._prediction(job, "failed", error="The input or output was flagged as sensitive. (E005)")
        return self._prediction(job, "processing")


class Fal(Protocol):
    name, env = "fal", {"FAL_KEY": SECRET}
    client_agent = "fal-client/"
    app = "/fal-ai/veo3.1"

    def check_auth(self, h):
        return h.get("Authorization") == f"Key {SECRET}"

    def is_submit(self, m, p):
        return m == "POST" and p == self.app

    def prompt_of(self, b):
        assert b["duration"] == "8s"
        return b["prompt"]

    def submit_reply(self, job):
        base = f"{self.server.url}{self.app}/requests/{job}"
        return {"request_id": job, "status": "IN_QUEUE", "status_url": f"{base}/status", "response_url": base,
                "cancel_url": f"{base}/cancel", "queue_position": 0}

    def submit_refusal(self):
        return 422, {"detail": [{"msg": "The prompt was flagged by the content policy checker", "type": "content_policy_violation"}]}

    def poll_job(self, m, p, b):
        if m == "GET" and p.startswith(self.app + "/requests/") and p.endswith("/status"):
            return p.split("/")[-2]
        return None

    def poll_reply(self, job, state, url):
        response_url = f"{self.server.url}{self.app}/requests/{job}"
        if state == "running":
            return {"status": "IN_PROGRESS", "request_id": job, "response_url": response_url, "logs": []}
        if state == "failed":
            return {"status": "COMPLETED", "request_id": job, "response_url": response_url, "logs": [],
                    "error": "Generation failed on the worker", "error_type": "runner_error"}
        # refusals show on the result request
        return {"status": "COMPLETED", "request_id": job, "response_url": response_url, "logs": []}

    def extra(self, server, m, p):
        if m == "GET" and p.startswith(self.app + "/requests/"):
            job = server.jobs[p.rsplit("/", 1)[1]]
            if "REFUSEME" in job["prompt"]:
                return self.submit_refusal()
            return 200, {"video": {"url": f"{server.url}/files/{p.rsplit('/', 1)[1]}.mp4"}}
        return None


class Seedance(Protocol):
    name, env = "seedance", {"ARK_API_KEY": SECRET}
    client_agent = "volc-sdk-python/"

    def check_auth(self, h):
        return h.get("Authorization") == f"Bearer {SECRET}"

    def is_submit(self, m, p):
        return m == "POST" and p == "/api/v3/contents/generations/tasks"

    def prompt_of(self, b):
        assert b["duration"] == 10 and b["generate_audio"] is True
        return b["content"][0]["text"]

    def submit_reply(self, job):
        return {"id": job}

    def submit_refusal(self):
        return 400, {"error": {"code": "InputTextSensitiveContentDetected",
                               "message": "The request failed because the input text may contain sensitive information."}}

    def poll_job(self, m, p, b):
        return p.rsplit("/", 1)[1] if m == "GET" and p.startswith("/api/v3/contents/generations/tasks/") else None

    def poll_reply(self, job, state, url):
        if state == "done":
            return {"id": job, "status": "succeeded", "content": {"video_url": url}}
        if state == "failed":
            return {"id": job, "status": "failed", "error": {"code": "InternalServiceError", "message": "internal error"}}
        if state == "refused":
            return {"id": job, "status": "failed", "error": {"code": "OutputVideoSensitiveContentDetected",
                                                             "message": "The output video may contain sensitive information."}}
        return {"id": job, "status": "running"}


class Runway(Protocol):
    name, env = "runway", {"RUNWAYML_API_SECRET": SECRET}
    client_agent = "RunwayML/Python"

    def check_auth(self, h):
        return h.get("Authorization") == f"Bearer {SECRET}" and h.get("X-Runway-Version") == "2024-11-06"

    def is_submit(self, m, p):
        return m == "POST" and p == "/v1/text_to_video"

    def prompt_of(self, b):
        assert b["ratio"] == "1280:720" and b["duration"] == 8 and b["audio"] is True
        return b["promptText"]

    def submit_reply(self, job):
        return {"id": job}

    def submit_refusal(self):
        return 400, {"error": "The prompt failed content moderation (SAFETY.INPUT.TEXT)."}

    def poll_job(self, m, p, b):
        return p.rsplit("/", 1)[1] if m == "GET" and p.startswith("/v1/tasks/") else None

    def poll_reply(self, job, state, url):
        # every task carries createdAt and cost: without them runwayml's tasks.retrieve cannot match the answer to
        # its Succeeded / Failed types and falls back to a loose Pending (output and failureCode unread)
        task = {"id": job, "createdAt": "2026-11-29T12:00:00.000Z", "cost": {"credits": 40}}
        if state == "done":
            return {**task, "status": "SUCCEEDED", "output": [url]}
        if state == "failed":
            return {**task, "status": "FAILED", "failure": "An unexpected error occurred.", "failureCode": "INTERNAL"}
        if state == "refused":
            return {**task, "status": "FAILED", "failure": "Prompt flagged.", "failureCode": "SAFETY.INPUT.TEXT"}
        return {**task, "status": "RUNNING", "progress": 0.5}


PROTOCOLS = {p.name: p for p in (Veo, Wan, Kling, Replicate, Fal, Seedance, Runway)}


def make_protocol(name: str, video: bytes) -> Protocol:
    cls = PROTOCOLS[name]
    return cls(video) if cls is Veo else cls()
