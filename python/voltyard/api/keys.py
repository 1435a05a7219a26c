"""The application keys through which handlers reach the appliance, the tokens and the event stream."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from voltyard.api.tokens import TokenRing

if TYPE_CHECKING:
    from voltyard.api.stream import EventStream
    from voltyard.runtime import Appliance

__all__ = ["APPLIANCE", "STREAM", "TOKENS"]

APPLIANCE: web.AppKey[Appliance] = web.AppKey("appliance")
TOKENS: web.AppKey[TokenRing] = web.AppKey("tokens", TokenRing)
STREAM: web.AppKey[EventStream] = web.AppKey("stream")
