"""Operations: health and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from liqmon_web import health as health_module
from liqmon_web import metrics as metrics_module
from liqmon_web.deps import BroadcasterDep, KeysDep, RedisDep, SettingsDep, SummaryFeedDep
from liqmon_web.models import Health
from liqmon_web.routes import json_response

router = APIRouter(tags=["operations"])


@router.get("/api/health", responses={200: {"model": Health}})
async def health(redis: RedisDep, keys: KeysDep, settings: SettingsDep) -> Response:
    """Always 200 while this process runs; `status` says ok, degraded or down, and why."""
    return json_response(await health_module.collect(redis, keys, settings))


@router.get(
    "/metrics",
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
async def metrics(
    redis: RedisDep,
    keys: KeysDep,
    settings: SettingsDep,
    broadcaster: BroadcasterDep,
    feed: SummaryFeedDep,
) -> Response:
    """Prometheus text: collector, aggregator and this web process's counters."""
    doc = await health_module.collect(redis, keys, settings)
    text = metrics_module.render(doc, broadcaster, feed)
    return Response(text, media_type=metrics_module.CONTENT_TYPE)
