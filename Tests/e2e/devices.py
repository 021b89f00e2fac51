"""Helpers for device tests over the independent client (Python websockets)."""
import asyncio
import json

import websockets

TIMEOUT = 10


async def connect(server, device_id, query="", form="query", **kwargs):
    path = f"/?device_id={device_id}" if form == "query" else f"/{device_id}"
    if query:
        path += ("&" if "?" in path else "?") + query
    return await websockets.connect(server.url + path, max_size=None, **kwargs)


async def recv_json(ws, timeout=TIMEOUT):
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def recv_until(ws, predicate, timeout=TIMEOUT):
    """Reads frames until one (parsed as JSON) satisfies predicate; returns it."""
    async def loop():
        while True:
            message = json.loads(await ws.recv())
            if predicate(message):
                return message
    return await asyncio.wait_for(loop(), timeout)


def presence(device, state):
    return {"from": device, "to": "all", "msg": state}


async def expect_silence(ws, seconds=0.5):
    """Nothing arrives for a while (used after ticks that must not announce)."""
    try:
        message = await asyncio.wait_for(ws.recv(), seconds)
    except asyncio.TimeoutError:
        return
    raise AssertionError(f"unexpected frame: {message!r}")


def run(coroutine, timeout=60):
    return asyncio.run(asyncio.wait_for(coroutine, timeout))
