"""How each channel type is spoken to: the request for an alert, and what a response means.

From each service's documentation:
- Telegram Bot API: `POST {api}/bot<token>/sendMessage` with JSON `chat_id`, `text`;
  success is 200 `{"ok": true, "result": …}`; errors are `{"ok": false, "error_code",
  "description"}`, and a 429 carries `parameters.retry_after` (seconds). Text ≤ 4096.
- Discord: `POST <webhook url>?wait=true` with JSON `content` (≤ 2000 characters);
  200 with the message object (204 without `wait`); a 429 has a JSON body
  `{"message", "retry_after" (seconds, may be fractional), "global"}` and a
  `Retry-After` header. `allowed_mentions: {"parse": []}`: a coin name such as
  `@everyone` must not ping a server.
- Slack incoming webhooks: `POST` JSON `{"text"}`; 200 body `ok`; 400 `invalid_payload`,
  403 `action_prohibited`, 404 `channel_not_found`, 410 `channel_is_archived`,
  500 `rollup_error`; a 429 carries `Retry-After`. `&`, `<`, `>` are escaped (Slack
  markup: `<!channel>` in a coin name must stay text).
- Webhook: the alert document as JSON, signed: `X-Liqmon-Signature: sha256=<hex HMAC-SHA256
  of the exact body bytes with the channel's secret>`.

Outcome for every type: 2xx sent; 429 retry after the time the service asked for; 5xx,
408 and transport errors/timeouts retry with backoff; any other status is permanent
(dead letter, with the service's own reason).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Literal

import httpx
import orjson

from liqmon.clock import now_ms

from .rules import DiscordChannel, SlackChannel, TelegramChannel, WebhookChannel

AnyChannel = TelegramChannel | DiscordChannel | SlackChannel | WebhookChannel
SIGNATURE_HEADER = "X-Liqmon-Signature"
USER_AGENT = "liqmon-alerter/1"


@dataclass(frozen=True)
class Outcome:
    kind: Literal["sent", "retry", "dead"]
    reason: str = ""
    retry_after: float | None = None  # seconds, when the service said how long to wait


@dataclass(frozen=True)
class Request:
    url: str
    body: bytes
    headers: dict[str, str]


def sign(secret: str, body: bytes) -> str:
    """The `X-Liqmon-Signature` value: `sha256=` + hex HMAC-SHA256 of the body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def retry_after_header(headers: httpx.Headers) -> float | None:
    """`Retry-After` as seconds (a number or an HTTP date), or None."""
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - now_ms() / 1000)
    except (TypeError, ValueError):
        return None


def _json_body(response: httpx.Response) -> dict[str, Any]:
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return {}
    return body if isinstance(body, dict) else {}


def _number(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return max(0.0, float(value))
    return None


def slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def build_request(channel: AnyChannel, doc: dict[str, Any], telegram_api: str) -> Request:
    text = str(doc.get("text", ""))
    json_headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
    if isinstance(channel, TelegramChannel):
        url = f"{telegram_api.rstrip('/')}/bot{channel.secret_value('bot_token')}/sendMessage"
        body = {"chat_id": channel.chat_id, "text": text[:4096], "disable_web_page_preview": True}
        return Request(url, orjson.dumps(body), json_headers)
    if isinstance(channel, DiscordChannel):
        base = channel.secret_value("webhook_url")
        url = base + ("&" if "?" in base else "?") + "wait=true"
        body = {"content": text[:2000], "allowed_mentions": {"parse": []}}
        return Request(url, orjson.dumps(body), json_headers)
    if isinstance(channel, SlackChannel):
        body = {"text": slack_escape(text)}
        return Request(channel.secret_value("webhook_url"), orjson.dumps(body), json_headers)
    raw = orjson.dumps(doc)
    headers = {
        **json_headers,
        SIGNATURE_HEADER: sign(channel.secret_value("secret"), raw),
        "X-Liqmon-Alert": str(doc.get("id", "")),
    }
    return Request(channel.secret_value("url"), raw, headers)


def classify(channel: AnyChannel, response: httpx.Response) -> Outcome:
    status = response.status_code
    snippet = response.text[:200].strip()
    if isinstance(channel, TelegramChannel):
        body = _json_body(response)
        if status == 200 and body.get("ok") is True:
            return Outcome("sent")
        params = body.get("parameters")
        after = _number(params.get("retry_after")) if isinstance(params, dict) else None
        reason = f"HTTP {status}: {body.get('description') or snippet}"
        return _failed(response, reason, after)
    if 200 <= status < 300:
        return Outcome("sent")
    if isinstance(channel, DiscordChannel):
        body = _json_body(response)
        reason = f"HTTP {status}: {body.get('message') or snippet}"
        return _failed(response, reason, _number(body.get("retry_after")))
    return _failed(response, f"HTTP {status}: {snippet}", None)


def _failed(response: httpx.Response, reason: str, after: float | None) -> Outcome:
    """A refused request. 429: retry after what the body said (`after`), else what
    `Retry-After` said, else with backoff; 5xx and 408 retry with backoff; any other
    status is permanent."""
    status = response.status_code
    if status == 429:
        wait = after if after is not None else retry_after_header(response.headers)
        return Outcome("retry", reason, wait)
    return Outcome("retry" if status >= 500 or status == 408 else "dead", reason)


async def attempt(
    client: httpx.AsyncClient, channel: AnyChannel, doc: dict[str, Any], telegram_api: str
) -> Outcome:
    """One HTTP attempt. Transport errors are transient; their text never carries the URL
    (it may hold a token): only the exception's class is reported."""
    request = build_request(channel, doc, telegram_api)
    try:
        response = await client.post(request.url, content=request.body, headers=request.headers)
    except httpx.TimeoutException as exc:
        return Outcome("retry", f"timeout ({type(exc).__name__})")
    except httpx.HTTPError as exc:
        return Outcome("retry", f"transport error ({type(exc).__name__})")
    except (httpx.InvalidURL, ValueError, TypeError, UnicodeError) as exc:  # never sendable
        return Outcome("dead", f"request not sendable ({type(exc).__name__})")
    return classify(channel, response)
