"""`GET /api/venues`: the exchanges liqmon collects from (the registry, `liqmon.venues`).

The dashboard builds its exchange filter and its feed badges from this list, so a new venue
appears there without a change to the web service.
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field
from starlette.responses import Response

from liqmon.venues import VENUES
from liqmon_web.models import ERRORS
from liqmon_web.routes import json_response

router = APIRouter(prefix="/api", tags=["data"], responses=ERRORS)
#: The registry changes only with a new release: clients may cache the list for a while.
CACHE_SECONDS = 300


class Venue(BaseModel):
    exchange: str = Field(examples=["bybit"])
    name: str = Field(examples=["Bybit"])
    products: list[str] = Field(examples=[["bybit-linear", "bybit-inverse"]])
    sampled: bool = Field(
        description="true: the feed publishes at most one liquidation per contract per second "
        "(totals are lower bounds); false: every liquidation"
    )


BODY = [
    Venue(exchange=v.exchange, name=v.name, products=list(v.products), sampled=v.sampled)
    for v in VENUES
]


@router.get("/venues", responses={200: {"model": list[Venue]}})
async def venues() -> Response:
    """Every venue, in registry order, with its products and whether its feed is sampled."""
    return json_response([v.model_dump() for v in BODY], cache_seconds=CACHE_SECONDS)
