"""What each service's answer means (channels.classify), on the documented shapes, and the
requests built for each type (untrusted coin names stay text)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import orjson
import pytest

from liqmon_alerter.channels import build_request, classify, sign
from liqmon_alerter.rules import parse_rules
from tests.alerter.fakes import TG_TOKEN

RULES = f"""
[[channel]]
name = "phone"
type = "telegram"
bot_token = "{TG_TOKEN}"
chat_id = -100123

[[channel]]
name = "desk"
type = "discord"
webhook_url = "https://discord.com/api/webhooks/1/tok?thread_id=5"

[[channel]]
name = "team"
type = "slack"
webhook_url = "https://hooks.slack.com/services/T/B/x"

[[channel]]
name = "bot"
type = "webhook"
url = "https://example.org/liq"
secret = "s3cret"

[[rule]]
name = "whale"
kind = "large"
min_usd = 1
channels = ["phone", "desk", "team", "bot"]
"""
PHONE, DESK, TEAM, BOT = parse_rules(RULES, "t.toml", {}).channel


def answer(status: int, body: object = b"", headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    return httpx.Response(status, content=content, headers=headers or {})


@pytest.mark.parametrize(
    ("channel", "response", "kind", "after", "reason"),
    [
        (PHONE, answer(200, {"ok": True, "result": {"message_id": 1}}), "sent", None, ""),
        (PHONE, answer(429, {"ok": False, "error_code": 429,
                             "description": "Too Many Requests: retry after 15",
                             "parameters": {"retry_after": 15}}),
         "retry", 15.0, "HTTP 429: Too Many Requests: retry after 15"),
        (PHONE, answer(400, {"ok": False, "error_code": 400,
                             "description": "Bad Request: chat not found"}),
         "dead", None, "HTTP 400: Bad Request: chat not found"),
        (PHONE, answer(401, {"ok": False, "error_code": 401, "description": "Unauthorized"}),
         "dead", None, "HTTP 401: Unauthorized"),
        (PHONE, answer(502, b"<html>Bad Gateway</html>"),
         "retry", None, "HTTP 502: <html>Bad Gateway</html>"),
        (DESK, answer(200, {"id": "1"}), "sent", None, ""),
        (DESK, answer(204), "sent", None, ""),
        (DESK, answer(429, {"message": "You are being rate limited.", "retry_after": 0.35,
                            "global": False}, {"Retry-After": "1"}),
         "retry", 0.35, "HTTP 429: You are being rate limited."),
        (DESK, answer(429, b"", {"Retry-After": "2"}), "retry", 2.0, "HTTP 429: "),
        (DESK, answer(404, {"message": "Unknown Webhook", "code": 10015}),
         "dead", None, "HTTP 404: Unknown Webhook"),
        (TEAM, answer(200, b"ok"), "sent", None, ""),
        (TEAM, answer(429, b"rate_limited", {"Retry-After": "30"}),
         "retry", 30.0, "HTTP 429: rate_limited"),
        (TEAM, answer(400, b"invalid_payload"), "dead", None, "HTTP 400: invalid_payload"),
        (TEAM, answer(403, b"action_prohibited"), "dead", None, "HTTP 403: action_prohibited"),
        (TEAM, answer(410, b"channel_is_archived"), "dead", None, "HTTP 410: channel_is_archived"),
        (TEAM, answer(500, b"rollup_error"), "retry", None, "HTTP 500: rollup_error"),
        (BOT, answer(202), "sent", None, ""),
        (BOT, answer(408, b"timeout"), "retry", None, "HTTP 408: timeout"),
        (BOT, answer(429), "retry", None, "HTTP 429: "),
        (BOT, answer(422, b"nope"), "dead", None, "HTTP 422: nope"),
    ],
)  # fmt: skip
def test_classify(channel, response, kind, after, reason) -> None:  # type: ignore[no-untyped-def]
    outcome = classify(channel, response)
    assert (outcome.kind, outcome.retry_after, outcome.reason) == (kind, after, reason)


def test_retry_after_as_an_http_date() -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=90), usegmt=True)
    outcome = classify(TEAM, answer(429, b"", {"Retry-After": when}))
    assert outcome.kind == "retry" and outcome.retry_after is not None
    assert 80 < outcome.retry_after <= 90


DOC = {"id": "a" * 32, "kind": "large", "text": "🔴 LONG liquidated: @everyone <!channel> & co"}


def test_requests_per_type() -> None:
    tg = build_request(PHONE, DOC, "http://127.0.0.1:1/")
    assert tg.url == f"http://127.0.0.1:1/bot{TG_TOKEN}/sendMessage"
    assert orjson.loads(tg.body) == {
        "chat_id": "-100123", "text": DOC["text"], "disable_web_page_preview": True,
    }  # fmt: skip
    dc = build_request(DESK, DOC, "")
    assert dc.url == "https://discord.com/api/webhooks/1/tok?thread_id=5&wait=true"
    assert orjson.loads(dc.body)["allowed_mentions"] == {"parse": []}  # @everyone stays text
    sl = build_request(TEAM, DOC, "")
    assert orjson.loads(sl.body) == {
        "text": "🔴 LONG liquidated: @everyone &lt;!channel&gt; &amp; co"
    }
    hook = build_request(BOT, DOC, "")
    assert orjson.loads(hook.body) == DOC
    assert hook.headers["X-Liqmon-Signature"] == sign("s3cret", hook.body)
    assert hook.headers["X-Liqmon-Alert"] == DOC["id"]
    long_text = {**DOC, "text": "x" * 5000}
    assert len(orjson.loads(build_request(DESK, long_text, "").body)["content"]) == 2000
    assert len(orjson.loads(build_request(PHONE, long_text, "").body)["text"]) == 4096
