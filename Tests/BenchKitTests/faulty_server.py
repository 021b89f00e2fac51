"""A deliberately faulty reference-protocol server for testing the bench's accounting.

FAULT=drop-message|duplicate-message|swap-messages|drop-presence|duplicate-presence
Prints "listening PORT" once ready. Routes {"from","to","msg"} by device id and announces presence
to every other device, except for exactly one fault as asked."""
import asyncio
import json
import os
import sys

import websockets

FAULT = os.environ.get("FAULT", "")
devices = {}
state = {"routed": 0, "held": None, "presence": 0}


def device_id(path):
    if "device_id=" in path:
        return path.split("device_id=", 1)[1].split("&", 1)[0]
    return path.lstrip("/")


async def announce(sender, text):
    for other_id, ws in list(devices.items()):
        if other_id == sender:
            continue
        # The fault hits the second event about a coming-and-going device (ids "d-C-J").
        fault_here = sender.startswith("d-") and not other_id.startswith("d-")
        if fault_here:
            state["presence"] += 1
        if fault_here and FAULT == "drop-presence" and state["presence"] == 2:
            continue
        try:
            await ws.send(text)
            if fault_here and FAULT == "duplicate-presence" and state["presence"] == 2:
                await ws.send(text)
        except websockets.ConnectionClosed:
            pass   # the watcher left meanwhile


async def handler(ws):
    me = device_id(ws.request.path)
    devices[me] = ws
    await announce(me, json.dumps({"from": me, "to": "all", "msg": "online"}, separators=(",", ":")))
    try:
        async for message in ws:
            target = devices.get(json.loads(message)["to"])
            if target is None:
                continue
            state["routed"] += 1
            n = state["routed"]
            if FAULT == "drop-message" and n == 5:
                continue
            if FAULT == "swap-messages" and n == 5:
                state["held"] = (target, message)
                continue
            await target.send(message)
            if FAULT == "duplicate-message" and n == 5:
                await target.send(message)
            if state["held"] is not None and n == 6:
                held_target, held = state["held"]
                state["held"] = None
                await held_target.send(held)
    except websockets.ConnectionClosed:
        pass
    finally:
        if devices.get(me) is ws:
            del devices[me]
            await announce(me, json.dumps({"from": me, "to": "all", "msg": "offline"}, separators=(",", ":")))


async def main():
    async with websockets.serve(handler, "127.0.0.1", 0, compression=None) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"listening {port}", flush=True)
        await asyncio.Future()


asyncio.run(main())
