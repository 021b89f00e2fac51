"""2,000 devices connecting in a burst: every online event reaches every watcher exactly once."""
import asyncio
import base64
import collections
import json
import os
import resource

from devices import connect, presence, run

BURST = 2000
WATCHERS = 5


def raise_fd_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    assert hard >= BURST + 200, f"need {BURST + 200} descriptors, hard limit is {hard}"


async def raw_device(port, device_id):
    """Upgrades and then never reads: what the server sends waits in kernel buffers."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write((f"GET /?device_id={device_id} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                  f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101"), head
    return writer


def test_burst_of_2000_devices_each_online_event_exactly_once_at_every_watcher(start_server):
    raise_fd_limit()
    server = start_server("--limit-exempt", "127.0.0.0/8")   # 2,000 devices from one address

    async def go():
        watchers = [await connect(server, f"watcher-{i}", max_queue=None) for i in range(WATCHERS)]
        seen = [collections.Counter() for _ in watchers]

        async def collect(index, ws):
            async for message in ws:
                event = json.loads(message)
                if event.get("msg") == "online":
                    seen[index][event["from"]] += 1

        def complete():
            return all(sum(1 for d in counter if d.startswith("burst-")) == BURST for counter in seen)

        collectors = [asyncio.create_task(collect(i, ws)) for i, ws in enumerate(watchers)]
        writers = await asyncio.gather(*(raw_device(server.port, f"burst-{n}") for n in range(BURST)))
        for _ in range(600):
            if complete():
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)      # the collectors keep reading: a duplicate would still be counted
        for task in collectors:
            task.cancel()
        for counter in seen:
            burst_counts = {device: count for device, count in counter.items() if device.startswith("burst-")}
            assert len(burst_counts) == BURST
            assert set(burst_counts.values()) == {1}, "an online event was duplicated"
        for writer in writers:
            writer.close()
        for ws in watchers:
            await ws.close()
    run(go(), timeout=120)
