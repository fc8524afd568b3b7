"""Local fakes of Telegram, Discord, Slack and a webhook receiver: one real HTTP server
(Starlette on uvicorn, loopback, free port) answering with each service's documented
status codes and bodies.

- Telegram Bot API `POST /bot<token>/sendMessage`: 200 `{"ok": true, "result": Message}`;
  401 `Unauthorized` for a wrong token; 400 `Bad Request: chat not found`; 429
  `{"ok": false, "error_code": 429, "description": "Too Many Requests: retry after N",
  "parameters": {"retry_after": N}}`.
- Discord `POST /api/webhooks/<id>/<token>`: `?wait=true` -> 200 message object, else 204;
  404 `{"message": "Unknown Webhook", "code": 10015}`; 400 `Cannot send an empty message`
  (50006); 429 `{"message": "You are being rate limited.", "retry_after": <s>, "global":
  false}` plus `Retry-After`.
- Slack incoming webhook `POST /services/<T>/<B>/<secret>`: 200 `ok`; 400 `invalid_payload`
  / `no_text`; 404 `no_service`; 410 `channel_is_archived`; 500 `rollup_error`; 429 with
  `Retry-After`.
- Webhook `POST /hook`: records the raw body and headers, 200.

`plan(service, *steps)` scripts the next responses of a service: "429", "500", "503",
"hang" (no answer until `release()`), "gone" (410 / 404-ish permanent error).
"""

from __future__ import annotations

import asyncio
import collections
import socket
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

TG_TOKEN = "7301234567:AAFakeTelegramTokenForTests_x9"
TG_CHAT = "-1001234567"
DISCORD_PATH = "/api/webhooks/112233445566778899/FakeDiscordWebhookTokenSecret123"
SLACK_PATH = "/services/T0001/B0001/FakeSlackSecretXXXXXXXX"
HOOK_PATH = "/hook"
HOOK_SECRET = "hook-secret-for-hmac-tests-0123"


@dataclass
class Received:
    service: str
    body: bytes
    headers: dict[str, str]
    query: dict[str, str]

    @property
    def json(self) -> Any:
        return orjson.loads(self.body)


@dataclass
class FakeServices:
    host: str = "127.0.0.1"
    port: int = 0
    received: list[Received] = field(default_factory=list)
    attempts: collections.Counter[str] = field(default_factory=collections.Counter)
    plans: dict[str, collections.deque[str]] = field(
        default_factory=lambda: collections.defaultdict(collections.deque)
    )
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    released: asyncio.Event = field(default_factory=asyncio.Event)
    #: monotonic time of every request, per service (to check a 429's wait was honoured)
    times: dict[str, list[float]] = field(default_factory=lambda: collections.defaultdict(list))
    retry_after: dict[str, float] = field(
        default_factory=lambda: {"telegram": 1, "discord": 0.2, "slack": 1, "webhook": 1}
    )
    latency: float = 0.0  # seconds each accepted message takes to answer
    _server: uvicorn.Server | None = None
    _task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def plan(self, service: str, *steps: str) -> None:
        self.plans[service].extend(steps)

    def release(self) -> None:
        self.released.set()

    def got(self, service: str) -> list[Received]:
        return [r for r in self.received if r.service == service]

    async def wait_for(self, predicate: Any, timeout: float = 30.0) -> None:
        async with self.changed:
            await asyncio.wait_for(self.changed.wait_for(predicate), timeout)

    # --- server ---------------------------------------------------------------------
    async def start(self) -> FakeServices:
        with socket.socket() as sock:
            sock.bind((self.host, 0))
            self.port = sock.getsockname()[1]
        app = Starlette(
            routes=[
                Route("/bot{token}/sendMessage", self._telegram, methods=["POST"]),
                Route("/api/webhooks/{wid}/{wtoken}", self._discord, methods=["POST"]),
                Route("/services/{a}/{b}/{c}", self._slack, methods=["POST"]),
                Route(HOOK_PATH, self._hook, methods=["POST"]),
            ]
        )
        config = uvicorn.Config(app, host=self.host, port=self.port, log_level="warning")
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            await asyncio.sleep(0.01)
        return self

    async def stop(self) -> None:
        self.released.set()
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await asyncio.wait_for(self._task, 10)

    async def _record(self, service: str, request: Request, body: bytes) -> None:
        if self.latency:
            await asyncio.sleep(self.latency)  # a real service takes a while to answer
        async with self.changed:
            self.received.append(
                Received(service, body, dict(request.headers), dict(request.query_params))
            )
            self.changed.notify_all()

    async def _step(self, service: str) -> str | None:
        """The scripted answer for this attempt (None: answer normally)."""
        async with self.changed:
            self.attempts[service] += 1
            self.times[service].append(time.monotonic())
            self.changed.notify_all()
            step = self.plans[service].popleft() if self.plans[service] else None
        if step == "hang":
            await self.released.wait()
            return "503"
        return step

    # --- the services ---------------------------------------------------------------
    async def _telegram(self, request: Request) -> Response:
        step = await self._step("telegram")
        if request.path_params["token"] != TG_TOKEN:
            return JSONResponse(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, 401
            )
        if step == "429":
            after = int(self.retry_after["telegram"])
            return JSONResponse(
                {
                    "ok": False,
                    "error_code": 429,
                    "description": f"Too Many Requests: retry after {after}",
                    "parameters": {"retry_after": after},
                },
                429,
            )
        if step in ("500", "502", "503"):
            code = int(step)
            return JSONResponse({"ok": False, "error_code": code, "description": "Internal"}, code)
        body = await request.body()
        data = orjson.loads(body)
        if step == "gone" or str(data.get("chat_id")) != TG_CHAT:
            return JSONResponse(
                {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"},
                400,
            )
        if not data.get("text"):
            return JSONResponse(
                {
                    "ok": False,
                    "error_code": 400,
                    "description": "Bad Request: message text is empty",
                },
                400,
            )
        await self._record("telegram", request, body)
        n = len(self.got("telegram"))
        message = {"message_id": n, "chat": {"id": int(TG_CHAT)}, "date": 0, "text": data["text"]}
        return JSONResponse({"ok": True, "result": message})

    async def _discord(self, request: Request) -> Response:
        step = await self._step("discord")
        if request.url.path != DISCORD_PATH or step == "gone":
            return JSONResponse({"message": "Unknown Webhook", "code": 10015}, 404)
        if step == "429":
            after = self.retry_after["discord"]
            return JSONResponse(
                {"message": "You are being rate limited.", "retry_after": after, "global": False},
                429,
                headers={"Retry-After": str(max(1, round(after)))},
            )
        if step in ("500", "502", "503"):
            return PlainTextResponse("error", int(step))
        body = await request.body()
        data = orjson.loads(body)
        if not data.get("content"):
            return JSONResponse({"message": "Cannot send an empty message", "code": 50006}, 400)
        await self._record("discord", request, body)
        if request.query_params.get("wait") == "true":
            return JSONResponse({"id": str(len(self.got("discord"))), "content": data["content"]})
        return Response(status_code=204)

    async def _slack(self, request: Request) -> Response:
        step = await self._step("slack")
        if request.url.path != SLACK_PATH:
            return PlainTextResponse("no_service", 404)
        if step == "gone":
            return PlainTextResponse("channel_is_archived", 410)
        if step == "429":
            after = str(int(self.retry_after["slack"]))
            return PlainTextResponse("rate_limited", 429, headers={"Retry-After": after})
        if step in ("500", "502", "503"):
            return PlainTextResponse("rollup_error", int(step))
        body = await request.body()
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            return PlainTextResponse("invalid_payload", 400)
        if not isinstance(data, dict) or not data.get("text"):
            return PlainTextResponse("no_text", 400)
        await self._record("slack", request, body)
        return PlainTextResponse("ok")

    async def _hook(self, request: Request) -> Response:
        step = await self._step("webhook")
        if step == "gone":
            return PlainTextResponse("gone", 410)
        if step == "429":
            after = str(int(self.retry_after["webhook"]))
            return PlainTextResponse("slow down", 429, headers={"Retry-After": after})
        if step in ("500", "502", "503"):
            return PlainTextResponse("error", int(step))
        await self._record("webhook", request, await request.body())
        return PlainTextResponse("ok")


CHANNELS = ("phone", "desk", "team", "bot")


def whale_rule(channels: tuple[str, ...] = CHANNELS, symbols: str = "") -> str:
    """A `large` rule named whale, $1M, to these channels (optional `symbols = [...]`)."""
    listed = ", ".join(f'"{c}"' for c in channels)
    extra = f"symbols = {symbols}\n" if symbols else ""
    return (
        f'[[rule]]\nname = "whale"\nkind = "large"\nmin_usd = 1_000_000\n{extra}'
        f"channels = [{listed}]\n"
    )


def rules_toml(
    fakes: FakeServices,
    rules: str,
    *,
    channels: tuple[str, ...] = CHANNELS,
) -> str:
    """A rules file with the four channels pointing at the fakes (secrets from env) and
    the given [[rule]] tables."""
    tables = {
        "phone": f'type = "telegram"\nbot_token_env = "TG_TOKEN"\nchat_id = {TG_CHAT}\n',
        "desk": 'type = "discord"\nwebhook_url_env = "DISCORD_WEBHOOK"\n',
        "team": 'type = "slack"\nwebhook_url_env = "SLACK_WEBHOOK"\n',
        "bot": f'type = "webhook"\nurl = "{fakes.url}{HOOK_PATH}"\nsecret_env = "HOOK_SECRET"\n',
    }
    parts = [f'[[channel]]\nname = "{name}"\n{tables[name]}' for name in channels]
    return "\n".join(parts) + "\n" + rules


def secrets_env(fakes: FakeServices) -> dict[str, str]:
    return {
        "TG_TOKEN": TG_TOKEN,
        "DISCORD_WEBHOOK": fakes.url + DISCORD_PATH,
        "SLACK_WEBHOOK": fakes.url + SLACK_PATH,
        "HOOK_SECRET": HOOK_SECRET,
    }


#: Values that must never appear in a log line, an error or an API answer.
SECRETS = (TG_TOKEN, "FakeDiscordWebhookTokenSecret123", "FakeSlackSecretXXXXXXXX", HOOK_SECRET)
