// Token mode against the real server: status 4 between strangers, pairing by code (pair() and
// client.pair()), refresh, and the stops that mean "do not come back" (4002, 4003).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { authMode, connect, pair, tokenSubject } from "../tether-client.js";
import { nextEvent, opened, startServer, tokenKeys, webSocketClass } from "./server.js";

const WebSocket = webSocketClass();
const keys = tokenKeys();
let server;
const clients = [];

function device(deviceId, token, options = {}) {
  const client = connect({ url: server.url, deviceId, token, WebSocket, backoff: { baseMs: 50, capMs: 400 }, ...options });
  clients.push(client);
  return client;
}

before(async () => { server = await startServer(keys.args); });
after(async () => {
  for (const client of clients) client.close();
  await server.stop();
});

test("the server says it is in token mode", async () => {
  assert.equal(await authMode({ url: server.url }), "token");
});

test("a message to a device the sender is not paired with is refused with status 4", async () => {
  const box = device("box-t1", keys.token("box-t1", { kind: "box" }));
  const phone = device("phone-t1", keys.token("phone-t1", { kind: "phone" }));
  await Promise.all([opened(box), opened(phone)]);
  const error = await phone.send("box-t1", { key: "up" }).catch((e) => e);
  assert.equal(error.name, "TetherError");
  assert.equal(error.code, "forbidden");
  assert.equal(error.status, 4);
  assert.equal(error.message, "not paired with box-t1");
  assert.equal(typeof error.id, "number");
});

test("a phone pairs by the box's code, then they talk and see each other", async () => {
  const box = device("box-t2", keys.token("box-t2", { kind: "box" }));
  await opened(box);
  const reply = await box.command("pairingCode");
  const told = nextEvent(box, "message", (m) => m.from === "server" && m.msg === "paired");

  const paired = await pair({ url: server.url, code: reply.data.code });
  assert.equal(paired.box, "box-t2");
  assert.equal(tokenSubject(paired.token), paired.deviceId);
  assert.match(paired.deviceId, /^phone-/);
  assert.equal((await told).frame.data.phone, paired.deviceId);
  await assert.rejects(pair({ url: server.url, code: reply.data.code }), { code: "pair_failed", reason: "used", httpStatus: 403 });

  const phone = device(paired.deviceId, paired.token, { watch: ["box-t2"] });
  await nextEvent(phone, "presence", (p) => p.id === "box-t2" && p.state === "online");
  const got = nextEvent(box, "message", (m) => m.from === paired.deviceId);
  await phone.send("box-t2", { key: "ok" });
  assert.deepEqual((await got).msg, { key: "ok" });
});

test("client.pair() keeps the phone's id, takes the new token and watches the new box", async () => {
  const first = device("box-t3a", keys.token("box-t3a", { kind: "box" }));
  const second = device("box-t3b", keys.token("box-t3b", { kind: "box" }));
  await Promise.all([opened(first), opened(second)]);
  const paired = await pair({ url: server.url, code: (await first.command("pairingCode")).data.code });
  const phone = device(paired.deviceId, paired.token, { watch: ["box-t3a"] });
  await opened(phone);

  const again = await phone.pair((await second.command("pairingCode")).data.code);
  assert.equal(again.deviceId, paired.deviceId);
  assert.equal(phone.token, again.token);
  assert.ok(phone.presence.has("box-t3b"));
  await nextEvent(phone, "presence", (p) => p.id === "box-t3b" && p.state === "online");
  await phone.send("box-t3b", "hello second box");
  await phone.send("box-t3a", "hello first box");
});

test("refresh hands the server a fresh token; one for another id is refused", async () => {
  const phone = device("phone-t4", keys.token("phone-t4", { kind: "phone" }));
  await opened(phone);
  const fresh = keys.token("phone-t4", { kind: "phone" }, 7200);
  const answer = await phone.refresh(fresh);
  assert.ok(answer.expires > Date.now() / 1000 + 3600);
  assert.equal(phone.token, fresh);
  await assert.rejects(phone.refresh(keys.token("phone-other")), { code: "forbidden", status: 4 });
  assert.equal(phone.token, fresh);
});

test("a token that expires stops the client with reason expired (4003)", { timeout: 15000 }, async () => {
  const phone = device("phone-t5", keys.token("phone-t5", { kind: "phone" }, 2));
  await opened(phone);
  assert.deepEqual(await nextEvent(phone, "stop", () => true, 10000), { reason: "expired", code: 4003 });
  assert.equal(phone.phase, "stopped");
});

test("an operator's disconnect stops the client with reason disconnected (4002)", async () => {
  const box = device("box-t6", keys.token("box-t6", { kind: "box" }));
  await opened(box);
  const stop = nextEvent(box, "stop");
  const response = await fetch(`http://127.0.0.1:${server.port}/api/devices/box-t6/disconnect`, {
    method: "POST", headers: { Authorization: "Bearer " + keys.apiKey, "Content-Type": "application/json" }, body: "{}",
  });
  assert.equal(response.status, 200);
  assert.deepEqual(await stop, { reason: "disconnected", code: 4002 });
});
