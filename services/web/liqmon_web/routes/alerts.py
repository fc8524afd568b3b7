"""`GET /api/alerts`: fired alerts, newest first, paged (docs/EVENTS.md § Alerts)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from starlette.responses import Response

from liqmon_web.alertfeed import read_alerts
from liqmon_web.deps import CursorDep, KeysDep, RedisDep
from liqmon_web.models import ERRORS
from liqmon_web.routes import json_response

router = APIRouter(prefix="/api", tags=["alerts"], responses=ERRORS)


class Alert(BaseModel):
    """One alert: the webhook's JSON body, plus its stream id and delivery per channel."""

    stream_id: str = Field(examples=["1732780000123-0"])
    v: int
    id: str = Field(description="deterministic alert id (32 hex)")
    rule: str
    kind: Literal["large", "cascade", "test"]
    channels: list[str]
    fired_at: int | None = Field(description="when the alert fired, epoch ms (Redis time)")
    ts: int | None = Field(description="event time of the liquidation that fired it, epoch ms")
    text: str = Field(description="the message sent to chat channels")
    event: dict[str, Any] | None = Field(None, description="large: the whole EVENT")
    cascade: dict[str, Any] | None = Field(
        None,
        description="cascade: coin (null = market), scope, side, window, window_s, start_ts, "
        "end_ts, total_usd, total_cents, count, largest (EVENT)",
    )
    deliveries: dict[str, Literal["queued", "sending", "sent", "dead"]]


class AlertsPage(BaseModel):
    items: list[Alert]
    next: str | None = Field(description="pass as `cursor` for older alerts; null at the end")


@router.get("/alerts", responses={200: {"model": AlertsPage}})
async def alerts(
    redis: RedisDep,
    keys: KeysDep,
    cursor: CursorDep,
    limit: Annotated[int, Query(ge=1, le=500, description="alerts per page")] = 50,
) -> Response:
    """Alerts the alerter fired (`liq:v1:alerts`), newest first, with each channel's
    delivery state. The stream keeps about the last 10,000 alerts."""
    items, nxt = await read_alerts(redis, keys, limit=limit, cursor=cursor)
    return json_response({"items": items, "next": nxt})
