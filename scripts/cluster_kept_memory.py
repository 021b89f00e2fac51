"""Redis memory per kept message in a cluster: one node and a real redis-server (Tests/e2e's
harness), 1,000 offline recipients with 10 kept messages each, INFO memory before and after.
Run from the repository: TETHER_BIN=.build/release/tether python3 scripts/cluster_kept_memory.py"""
import asyncio, json, os, sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "Tests", "e2e"))
from cluster import Cluster, Peer
c = Cluster(nodes=1, args=["--presence", "off"])
def used():
    info = c.redis.cli("INFO", "memory")
    return int([l for l in info.splitlines() if l.startswith("used_memory:")][0].split(":")[1])
async def go():
    phone = await Peer.open(c[0], "mem-phone")
    before = used()
    n = 0
    payload_bytes = 0
    for r in range(1000):
        for k in range(10):
            text = json.dumps({"from": "mem-phone", "to": f"mem-box-{r:04d}", "msg": f"key-{k}", "ttl": 300})
            payload_bytes += len(text)
            await phone.send(text)
            n += 1
        await phone.until(lambda: len(phone.replies()) >= n, what="status 8")
    assert all(m["status"] == 8 for m in phone.replies())
    after = used()
    print(f"messages {n}, payload {payload_bytes/n:.1f} B each, Redis used_memory growth {(after-before)/n:.1f} B each, beyond payload {(after-before-payload_bytes)/n:.1f} B")
try:
    asyncio.run(go())
finally:
    c.close()
