// Test helpers: a real tether server (TETHER_BIN) started and stopped from the test, a TCP relay
// that can cut a client's link, tokens, and waiting for client events.
import { spawn } from "node:child_process";
import { createHmac, randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";

const BIN = process.env.TETHER_BIN || ".build/debug/tether";

/** Node 20 has no WebSocket of its own: the ws package (Debian: node-ws, with NODE_PATH=/usr/share/nodejs). */
export function webSocketClass() {
  try {
    return createRequire(import.meta.url)("ws");
  } catch (e) {
    if (typeof globalThis.WebSocket === "function") return globalThis.WebSocket;
    throw new Error("no WebSocket for Node: install the ws package and put it on NODE_PATH");
  }
}

/** Starts the server on `port` (0: any); resolves {port, url, stop()} once it listens. */
export function startServer(args = [], { port = 0 } = {}) {
  // A state directory of its own unless the test names one (one server process per directory).
  const state = args.includes("--state-dir") ? [] : ["--state-dir", join(mkdtempSync(join(tmpdir(), "tether-js-state-")), "state")];
  const child = spawn(BIN, ["--host", "127.0.0.1", "--port", String(port), ...args, ...state], { stdio: ["ignore", "pipe", "pipe"] });
  child.stderr.resume();
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    child.once("exit", (code) => reject(new Error("server exited with " + code + " before listening")));
    lines.once("line", (line) => {
      const match = /listening on 127\.0\.0\.1:(\d+)/.exec(line);
      if (!match) return reject(new Error("server did not start: " + line));
      lines.on("line", () => {});  // keep reading its log so the pipe never fills
      const listening = Number(match[1]);
      resolve({ port: listening, url: "ws://127.0.0.1:" + listening, stop: () => stopProcess(child) });
    });
  });
}

function stopProcess(child) {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill("SIGKILL"), 10000);
    child.once("exit", (code) => { clearTimeout(kill); resolve(code); });
    child.kill("SIGTERM");
  });
}

/** Token mode: an HMAC key and an API key in a temporary folder, and the flags naming them. */
export function tokenKeys() {
  const folder = mkdtempSync(join(tmpdir(), "tether-js-"));
  const secret = randomBytes(32).toString("hex");
  const apiKey = randomBytes(24).toString("hex");
  writeFileSync(join(folder, "hmac.key"), secret);
  writeFileSync(join(folder, "api.key"), apiKey);
  return {
    apiKey,
    args: ["--auth-hmac-key-file", join(folder, "hmac.key"), "--api-key-file", join(folder, "api.key"),
      "--state-dir", join(folder, "state")],
    token: (sub, claims = {}, ttlSeconds = 3600) => hs256({ sub, exp: now() + ttlSeconds, iat: now(), ...claims }, secret),
  };
}

const now = () => Math.floor(Date.now() / 1000);
const b64url = (data) => Buffer.from(data).toString("base64url");

function hs256(claims, secret) {
  const input = b64url(JSON.stringify({ alg: "HS256", typ: "JWT" })) + "." + b64url(JSON.stringify(claims));
  return input + "." + createHmac("sha256", secret).update(input).digest("base64url");
}

/**
 * A TCP relay to `targetPort`, playing the network between a client and the server: cut() ends
 * every link and refuses new ones until mend(); freeze() swallows bytes both ways and closes
 * nothing (a pulled cable) until thaw(), which cuts the frozen links and relays again.
 */
export function startRelay(targetPort) {
  const links = new Set();
  let refusing = false;
  let frozen = false;
  const server = net.createServer((client) => {
    if (refusing) return client.destroy();
    const upstream = net.connect(targetPort, "127.0.0.1");
    const pair = [client, upstream];
    links.add(pair);
    client.on("data", (bytes) => { if (!frozen) upstream.write(bytes); });
    upstream.on("data", (bytes) => { if (!frozen) client.write(bytes); });
    for (const socket of pair) {
      socket.on("error", () => {});
      socket.on("close", () => { if (!frozen) drop(pair); });
    }
  });
  function drop(pair) {
    links.delete(pair);
    for (const socket of pair) socket.destroy();
  }
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve({
    url: "ws://127.0.0.1:" + server.address().port,
    cut() {
      refusing = true;
      for (const pair of links) drop(pair);
    },
    mend() { refusing = false; },
    freeze() { frozen = true; },
    thaw() {
      for (const pair of links) drop(pair);
      frozen = false;
    },
    close() {
      frozen = false;
      this.cut();
      server.close();
    },
  })));
}

/** Resolves the first `type` event of `client` that `test` accepts; rejects after `ms`. */
export function nextEvent(client, type, test = () => true, ms = 10000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { off(); reject(new Error("no " + type + " event within " + ms + " ms")); }, ms);
    const off = client.on(type, (value) => {
      if (!test(value)) return;
      clearTimeout(timer);
      off();
      resolve(value);
    });
  });
}

/** Resolves once `client` is open (at once if it already is). */
export function opened(client, ms = 10000) {
  return client.connected ? Promise.resolve() : nextEvent(client, "state", (s) => s.phase === "open", ms);
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
