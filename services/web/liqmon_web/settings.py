"""Settings of the web service (env names are fixed; see README)."""

from __future__ import annotations

from pydantic import Field

from liqmon.settings import CommonSettings


class WebSettings(CommonSettings):
    web_host: str = "127.0.0.1"
    web_port: int = Field(8000, ge=1, le=65535)
