"""danvan's signature-request API over HTTP(S), with the standard library only (urllib).

The personal API token travels in ``Authorization: Bearer``; redirects are not followed (a
redirect to another host would carry the token away) and plain HTTP is refused except to
this computer itself (127.0.0.1, ::1, localhost).
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

API_PREFIX = "/api/v1"
TIMEOUT = 120  # seconds: answering a request makes the server embed and check both signatures
USER_AGENT = "danvan-sign/1"
LOOPBACK_HOSTS = {"127.0.0.1", "::1", "localhost"}


class ClientError(Exception):
    """The server could not be used: bad address, unreachable, TLS failure."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass
class ServerError(Exception):
    """The server answered with an error (RFC 9457 problem details when it could)."""

    status: int
    title: str
    detail: str

    def __str__(self) -> str:
        return f"{self.status} {self.title}: {self.detail}"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # the 3xx surfaces as an HTTPError


def check_server_url(url: str) -> str:
    """The server's base URL without a trailing slash; refuses what would leak the API token."""
    url = (url or "").strip().rstrip("/")
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ClientError(
            f"Địa chỉ máy chủ «{url}» không hợp lệ; ví dụ đúng: https://danvan.soxaydung.gov.vn"
        )
    if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
        raise ClientError(
            "Máy chủ phải dùng https:// (mã truy cập API không được gửi qua kết nối không mã hóa)."
        )
    if parts.query or parts.fragment:
        raise ClientError(f"Địa chỉ máy chủ «{url}» không được có phần ?… hoặc #….")
    return url


class Client:
    """A small client for /api/v1/signature-requests authenticated by a personal API token."""

    def __init__(self, server: str, api_token: str, *, cafile: str | None = None):
        self.server = check_server_url(server)
        self._token = api_token
        handlers: list = [_NoRedirect()]
        if self.server.startswith("https://"):
            try:
                context = ssl.create_default_context(cafile=cafile)
            except (OSError, ssl.SSLError) as exc:
                raise ClientError(f"Không đọc được tệp chứng thư CA «{cafile}»: {exc}") from exc
            handlers.append(urllib.request.HTTPSHandler(context=context))
        self._opener = urllib.request.build_opener(*handlers)

    def _url(self, path: str) -> str:
        """An absolute URL on this server; a path from the server is accepted only if it is ours."""
        if path.startswith(API_PREFIX):
            return self.server + path
        absolute = urllib.parse.urljoin(self.server + "/", path)
        ours = urllib.parse.urlsplit(self.server)
        theirs = urllib.parse.urlsplit(absolute)
        if (theirs.scheme, theirs.netloc) != (ours.scheme, ours.netloc):
            raise ClientError(f"Máy chủ trả về địa chỉ ở nơi khác ({absolute}); không tải.")
        return absolute

    def _request(self, method: str, path: str, payload: dict | None = None) -> tuple[bytes, str]:
        data = None
        headers = {
            "Authorization": f"Bearer {self._token}",
            "User-Agent": USER_AGENT,
            "Accept": "application/json, application/pdf, application/problem+json",
        }
        if payload is not None:
            data = json.dumps(payload).encode("utf-8")
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(self._url(path), data=data, method=method, headers=headers)
        try:
            with self._opener.open(req, timeout=TIMEOUT) as response:
                return response.read(), response.headers.get("Content-Type", "")
        except urllib.error.HTTPError as exc:
            raise _server_error(exc) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            if isinstance(reason, ssl.SSLCertVerificationError):
                raise ClientError(
                    f"Không xác minh được chứng thư TLS của máy chủ {self.server} ({reason}). "
                    "Nếu máy chủ dùng CA nội bộ, chỉ ra tệp CA bằng --cafile."
                ) from None
            raise ClientError(
                f"Không kết nối được tới máy chủ {self.server} ({reason}). "
                "Kiểm tra địa chỉ và mạng rồi thử lại."
            ) from None

    def _json(self, method: str, path: str, payload: dict | None = None) -> dict:
        raw, _ = self._request(method, path, payload)
        try:
            return json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise ClientError("Máy chủ trả về dữ liệu không đọc được (không phải JSON).") from exc

    def pending(self) -> list[dict]:
        """The token user's pending signature requests."""
        return list(self._json("GET", f"{API_PREFIX}/signature-requests").get("items", []))

    def detail(self, request_id: int) -> dict:
        """One request with its ``to_sign`` items."""
        return self._json("GET", f"{API_PREFIX}/signature-requests/{int(request_id)}")

    def pdf(self, item: dict) -> bytes:
        """The prepared PDF of a request (``pdf_url`` as the server gave it)."""
        path = item.get("pdf_url") or f"{API_PREFIX}/signature-requests/{int(item['id'])}/pdf"
        raw, content_type = self._request("GET", path)
        if not raw.startswith(b"%PDF-"):
            raise ClientError(f"Máy chủ không trả về tệp PDF (kiểu nội dung: {content_type}).")
        return raw

    def answer(self, request_id: int, signatures: dict[str, str]) -> dict:
        """Post the base64 signature values; the server's JSON answer."""
        return self._json(
            "POST",
            f"{API_PREFIX}/signature-requests/{int(request_id)}/signatures",
            {"signatures": signatures},
        )


def _server_error(exc: urllib.error.HTTPError) -> ServerError:
    title, detail = exc.reason or "", ""
    try:
        body = json.loads(exc.read().decode("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        body = None
    if isinstance(body, dict):
        title = str(body.get("title") or title)
        detail = str(body.get("detail") or "")
        errors = body.get("errors")
        if isinstance(errors, list):
            extra = "; ".join(
                f"{e.get('field')}: {e.get('message')}" for e in errors if isinstance(e, dict)
            )
            if extra:
                detail = f"{detail} ({extra})" if detail else extra
    return ServerError(exc.code, title, detail)
