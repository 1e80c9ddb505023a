"""HTTP helpers (requests): JSON calls for the REST providers with status codes mapped to Transient / Refused /
Fatal, and the video download every URL-returning provider uses (SDK or REST: the SDKs hand back a signed public
link, not the file), which checks the byte count against Content-Length so a cut connection never looks like a video.
`TIMEOUT` is the one (connect, read) limit of every provider's calls, the SDK clients' included."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .base import Fatal, Poll, Transient


class ReadTimedOut(Transient):
    """The request was sent but no answer came in time: retrying a read is safe, retrying a submit is not."""

TIMEOUT = (10, 120)  # connect, read seconds


def _session():
    import requests

    return requests


def request_json(method: str, url: str, headers: dict[str, str] | None = None, body: Any = None,
                 params: dict[str, Any] | None = None) -> dict[str, Any]:
    """One JSON call. 429, 5xx, timeouts and unreadable bodies raise Transient; other 4xx raise Fatal with the
    server's message (the caller turns known refusal codes into Refused)."""
    requests = _session()
    try:
        resp = requests.request(method, url, headers=headers, json=body, params=params, timeout=TIMEOUT)
    except requests.ReadTimeout:
        raise ReadTimedOut(f"{method} {_path(url)}: no answer within {TIMEOUT[1]} s") from None
    except (requests.Timeout, requests.ConnectionError) as exc:
        raise Transient(f"{method} {_path(url)}: {type(exc).__name__}") from None
    if resp.status_code == 429 or resp.status_code >= 500:
        raise Transient(f"HTTP {resp.status_code} from {_path(url)}: {resp.text[:200]}")
    if resp.status_code >= 400:
        raise HTTPFault(resp.status_code, resp.text[:500])
    try:
        return resp.json()
    except (ValueError, json.JSONDecodeError):
        raise Transient(f"unreadable JSON from {_path(url)}") from None


class HTTPFault(Fatal):
    def __init__(self, status: int, text: str):
        super().__init__(f"HTTP {status}: {text}")
        self.status, self.text = status, text


def download_video(provider: str, poll: Poll, dest: Path) -> None:
    """The finished job's video URL to `dest` (signed public links: sent without the key)."""
    if not poll.url:
        raise Fatal(f"{provider}: finished job carries no video URL")
    download(poll.url, dest)


def download(url: str, dest: Path) -> None:
    """Stream `url` to `dest`; Transient on 429/5xx, a dropped connection or fewer bytes than announced."""
    requests = _session()
    written = 0
    try:
        with requests.get(url, stream=True, timeout=TIMEOUT) as resp:
            if resp.status_code == 429 or resp.status_code >= 500:
                raise Transient(f"download HTTP {resp.status_code}")
            if resp.status_code >= 400:
                raise Transient(f"download HTTP {resp.status_code} (the link may have expired; re-polled next try)")
            expected = resp.headers.get("Content-Length")
            with open(dest, "wb") as fh:
                for chunk in resp.raw.stream(1 << 16, decode_content=True):
                    fh.write(chunk)
                    written += len(chunk)
    except (requests.Timeout, requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
        raise Transient(f"download broken: {type(exc).__name__}") from None
    except Exception as exc:  # urllib3 ProtocolError / IncompleteRead surface here
        if isinstance(exc, Transient):
            raise
        if type(exc).__module__.startswith(("urllib3", "http.client")):
            raise Transient(f"download broken: {type(exc).__name__}") from None
        raise
    if expected is not None and written != int(expected):
        raise Transient(f"download truncated: {written} of {expected} bytes")
    if written == 0:
        raise Transient("download empty")


def _path(url: str) -> str:
    """The URL without its query (signed links carry credentials there)."""
    return url.split("?", 1)[0]
