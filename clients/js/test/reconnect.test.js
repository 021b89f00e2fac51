// Reconnecting against the real server: after a restart, across a cut link (presence learned
// again, queued sends flushed in order), and with backoff while nothing answers.
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { connect } from "../tether-client.js";
import { nextEvent, opened, sleep, startRelay, startServer, webSocketClass } from "./server.js";

const WebSocket = webSocketClass();
const fast = { baseMs: 50, capMs: 400 };
const clients = [];

function device(url, deviceId, options = {}) {
  const client = connect({ url, deviceId, WebSocket, backoff: fast, ...options });
  clients.push(client);
  return client;
}

after(() => { for (const client of clients) client.close(); });

test("a client reconnects by itself after the server restarts on the same port", { timeout: 30000 }, async () => {
  let server = await startServer();
  const box = device(server.url, "box-restart");
  const phone = device(server.url, "phone-restart", { watch: ["box-restart"] });
  await Promise.all([opened(box), opened(phone)]);
  await nextEvent(phone, "presence", (p) => p.id === "box-restart" && p.state === "online");

  const waiting = nextEvent(phone, "state", (s) => s.phase === "waiting");
  await server.stop();
  assert.equal((await waiting).code, 1001);  // "server going away": not a reason to stop
  server = await startServer([], { port: server.port });
  try {
    await Promise.all([opened(box, 15000), opened(phone, 15000)]);
    const got = nextEvent(box, "message");
    await phone.send("box-restart", "after the restart");
    assert.equal((await got).msg, "after the restart");
    assert.equal(phone.presence.get("box-restart"), "online");
  } finally {
    box.close();
    phone.close();
    await server.stop();
  }
});

test("across a cut link: presence is asked again, and queued sends go out in order", { timeout: 30000 }, async () => {
  const server = await startServer(["--presence", "watchers"]);
  const relay = await startRelay(server.port);
  try {
    const steady = device(server.url, "box-steady");
    const flaky = device(server.url, "box-flaky");
    const leaver = device(server.url, "box-leaver");
    const phone = device(relay.url, "phone-gap", { watch: ["box-steady", "box-flaky", "box-leaver"], queueLimit: 3 });
    await Promise.all([steady, flaky, leaver, phone].map((c) => opened(c)));
    await sleep(200);  // the answer to the first query
    assert.deepEqual(Object.fromEntries(phone.presence), { "box-steady": "online", "box-flaky": "online", "box-leaver": "online" });

    const changes = [];
    phone.on("online", (id) => changes.push(id + " online"));
    phone.on("offline", (id) => changes.push(id + " offline"));
    relay.cut();
    await nextEvent(phone, "state", (s) => s.phase === "waiting");

    // While the phone is away: one box leaves and comes back, another leaves for good.
    flaky.close();
    await sleep(100);
    flaky.open();
    await opened(flaky);
    leaver.close();
    // Sends meanwhile wait in the queue, up to its limit.
    const sends = [1, 2, 3].map((n) => phone.send("box-steady", { n }));
    await assert.rejects(phone.send("box-steady", { n: 4 }), { name: "TetherError", code: "queue_full" });
    await assert.rejects(phone.send("box-steady", { n: 5 }, { queue: false }), { code: "not_connected" });

    const received = [];
    steady.on("message", ({ from, msg }) => received.push([from, msg.n]));
    relay.mend();
    await opened(phone, 15000);
    const ids = (await Promise.all(sends)).map((sent) => sent.id);
    assert.deepEqual(ids, [...ids].sort((a, b) => a - b));
    await sleep(300);
    assert.deepEqual(received, [["phone-gap", 1], ["phone-gap", 2], ["phone-gap", 3]]);
    assert.deepEqual(Object.fromEntries(phone.presence), { "box-steady": "online", "box-flaky": "online", "box-leaver": "offline" });
    assert.deepEqual(changes, ["box-leaver offline"]);  // the flaky box never looked gone
  } finally {
    relay.close();
    await server.stop();
  }
});

test("while nothing answers, attempts wait longer and longer, within the bounds", { timeout: 30000 }, async () => {
  const relay = await startRelay(1);  // a port we hold, where every connection is cut at once
  relay.cut();
  const client = device(relay.url, "box-alone", { backoff: { baseMs: 40, capMs: 200 } });
  const waits = [];
  client.on("state", (s) => { if (s.phase === "waiting") waits.push(s); });
  while (waits.length < 6) await sleep(50);
  client.close();
  relay.close();
  assert.deepEqual(waits.slice(0, 6).map((w) => w.attempt), [0, 1, 2, 3, 4, 5]);
  waits.forEach((w) => assert.ok(w.delayMs >= 0 && w.delayMs < Math.min(200, 40 * 2 ** w.attempt), JSON.stringify(w)));
});

test("a link gone silent (no close, as a pulled cable) is probed, given up and reopened", { timeout: 30000 }, async () => {
  const server = await startServer();
  const relay = await startRelay(server.port);
  try {
    const box = device(relay.url, "box-silent", { probeMs: 600 });
    await opened(box);
    const sent = [];
    const probe = (text) => { const frame = JSON.parse(text); if (frame.msg === "queryStatus") sent.push(frame); };
    const socket = box.socket;
    const send = socket.send.bind(socket);
    socket.send = (text) => { probe(text); send(text); };
    relay.freeze();
    const lost = await nextEvent(box, "state", (s) => s.phase === "waiting", 5000);
    assert.equal(lost.code, 1006);
    assert.equal(lost.reason, "no answer to the probe");
    assert.ok(sent.length >= 1, "no probe went out before the link was given up");
    for (const frame of sent) assert.deepEqual(frame.data, ["box-silent"]);  // nothing watched: asks about itself
    relay.thaw();
    await opened(box, 10000);
  } finally {
    relay.close();
    await server.stop();
  }
});
