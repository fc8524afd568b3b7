"""`GET /api/stream`: Server-Sent Events (see sse.py for the wire format)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException
from starlette.responses import Response

from liqmon_web.broadcaster import ShuttingDown, TooManyClients
from liqmon_web.deps import BroadcasterDep, ClientIpDep, FilterDep, ResumeDep
from liqmon_web.models import ERRORS
from liqmon_web.sse import SseResponse

router = APIRouter(prefix="/api", tags=["stream"])

STREAM_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "text/event-stream: `event: liquidation` (id = stream id, data = "
        "EVENT JSON), `event: summary` when the totals change (at most 20 a second, and at "
        "least once a second; data = /api/summary JSON), "
        "`event: alert` (data = the alert document of docs/EVENTS.md, no id), "
        "`event: reset` when the resume id is no longer retained, keep-alive comments.",
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    },
    429: {"description": "too many stream clients (per server or per address)"},
    **ERRORS,
}


@router.get("/stream", response_class=SseResponse, status_code=200, responses=STREAM_DOC)
async def stream(
    broadcaster: BroadcasterDep,
    ip: ClientIpDep,
    flt: FilterDep,
    resume_from: ResumeDep,
) -> Response:
    """Live liquidations with the same filters as /api/liquidations, plus the summary.

    Reconnect with `Last-Event-ID` (EventSource does it by itself) or `?last_event_id=`
    to receive exactly the events missed, while the id is within retention. Each stream
    entry is sent once; the stream carries each liquidation once (docs/EVENTS.md).
    """
    try:
        ticket = broadcaster.admit(ip)
    except TooManyClients as exc:
        raise HTTPException(429, str(exc), headers={"Retry-After": "5"}) from None
    except ShuttingDown as exc:
        raise HTTPException(503, str(exc), headers={"Retry-After": "2"}) from None
    return SseResponse(broadcaster, ticket, flt, resume_from)
