"""Letting the event loop run what is ready."""

from __future__ import annotations

import asyncio


async def settle() -> None:
    """Give every ready task many turns: what can run on without outside help has."""
    for _ in range(50):
        await asyncio.sleep(0)
