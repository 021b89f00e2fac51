// Typed errors and stops against the real server (open mode), and replies told from messages.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { TetherError, connect } from "../tether-client.js";
import { nextEvent, opened, sleep, startServer, webSocketClass } from "./server.js";

const WebSocket = webSocketClass();
let server;
const clients = [];

function device(deviceId, options = {}) {
  const client = connect({ url: server.url, deviceId, WebSocket, backoff: { baseMs: 50, capMs: 400 }, ...options });
  clients.push(client);
  return client;
}

before(async () => { server = await startServer(); });
after(async () => {
  for (const client of clients) client.close();
  await server.stop();
});

test("a send to an offline device is refused with status 1 and the message's id", async () => {
  const phone = device("phone-e1");
  await opened(phone);
  const first = await phone.send("phone-e1", "to myself").catch((e) => e);  // delivered: resolves
  assert.ok(!(first instanceof Error) && typeof first.id === "number");
  const error = await phone.send("box-nowhere", { key: "up" }).catch((e) => e);
  assert.ok(error instanceof TetherError);
  assert.equal(error.code, "offline");
  assert.equal(error.status, 1);
  assert.equal(error.id, first.id + 1);
  assert.equal(error.message, "target offline");
  assert.deepEqual(error.data, { "box-nowhere": "offline" });
});

test("a send with a ttl to an offline device is kept: it resolves queued, and the delivered receipt comes as a reply", async () => {
  const phone = device("phone-e7");
  await opened(phone);
  const kept = await phone.send("box-e7", { key: "ok" }, { ttl: 60 });
  assert.deepEqual(kept, { id: kept.id, queued: true });
  const receipt = nextEvent(phone, "reply");
  const box = device("box-e7");
  const message = await nextEvent(box, "message");
  assert.deepEqual(message.msg, { key: "ok" });
  assert.equal(message.frame.ttl, 60);
  assert.deepEqual(await receipt, { status: 0, message: "delivered", data: { "box-e7": "online" }, id: kept.id });
  await assert.rejects(phone.send("box-e7", 1, { ttl: 0 }), { code: "malformed", status: 2 });
});

test("a bad recipient id is status 2; a command the server does not know too", async () => {
  const phone = device("phone-e2");
  await opened(phone);
  await assert.rejects(phone.send("no spaces allowed", 1), { code: "malformed", status: 2 });
  await assert.rejects(phone.command("noSuchCommand"), { code: "malformed", status: 2 });
});

test("a peer cannot forge a reply: its frames are messages, whatever they say", async () => {
  const phone = device("phone-e3");
  await opened(phone);
  const forger = new WebSocket(server.url + "/?device_id=box-forger");
  await new Promise((resolve) => { forger.onopen = resolve; });
  forger.onmessage = (event) => {
    const frame = JSON.parse(event.data);
    if (frame.from !== "phone-e3") return;
    forger.send(JSON.stringify({ from: "box-forger", to: "phone-e3", msg: "x", status: 1, message: "target offline", id: frame.id }));
  };
  const forged = nextEvent(phone, "message", (m) => m.from === "box-forger");
  const sent = await phone.send("box-forger", "hello");  // resolves after the window, not refused
  assert.equal((await forged).frame.id, sent.id);
  forger.close();
});

test("a client replaced by another connection with its id stops and says why", async () => {
  const first = device("box-twice");
  await opened(first);
  const stop = nextEvent(first, "stop");
  const second = device("box-twice");
  assert.deepEqual(await stop, { reason: "replaced", code: 4001 });
  assert.equal(first.phase, "stopped");
  await opened(second);
  await sleep(500);  // no retry pushes the second one out
  assert.equal(second.phase, "open");
  assert.equal(first.phase, "stopped");
  await assert.rejects(first.send("box-twice", 1), { code: "not_connected" });
});

test("close() refuses what is waiting, and open() connects again", async () => {
  const phone = device("phone-e5");
  await opened(phone);
  const pending = phone.send("phone-e5", "in flight");
  phone.close();
  await assert.rejects(pending, { code: "closed" });
  await assert.rejects(phone.send("phone-e5", 1), { code: "not_connected" });
  phone.open();
  await opened(phone);
  assert.ok((await phone.send("phone-e5", "again")).id > 0);
});
