// Tether client: one device's link to a Tether server, for browsers (TV apps, phones) and Node 20+.
// No dependencies. The wire contract it follows is docs/protocol.md; the API is in README.md.

/** Reconnect delays: attempt n waits a random time in [0, min(capMs, baseMs * 2^n)). */
export const DEFAULT_BACKOFF = Object.freeze({ baseMs: 500, capMs: 15000 });
/** A link that stayed open this long starts the next reconnect at attempt 0 again. */
export const STABLE_AFTER_MS = 10000;
/** A send with no error reply within this window resolves. */
export const DEFAULT_REPLY_WINDOW_MS = 1000;
/** Sends held while disconnected; one more is refused with "queue_full". */
export const DEFAULT_QUEUE_LIMIT = 100;
/** Silent half of this: probe the server; silent 1.5 times this: give the link up. */
export const DEFAULT_PROBE_MS = 25000;
/** A server command unanswered this long is refused with "timeout". */
export const COMMAND_TIMEOUT_MS = 10000;
/** A connection not open this long is given up (and retried), as a silent network never fails it. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10000;

// Closes that retrying cannot mend: another connection took the id (retrying would push it out in
// turn), the operator cut this device off, or its token expired.
const FINAL_CLOSES = { 4001: "replaced", 4002: "disconnected", 4003: "expired" };
/** Status 8: kept for an offline recipient until it connects (or the message's ttl runs out). */
const QUEUED = 8;
const STATUS_CODES = { 1: "offline", 2: "malformed", 3: "binary", 4: "forbidden", 5: "busy", 6: "rate_limited" };
const ID_PATTERN = /^[A-Za-z0-9._\-:@~]{1,128}$/;
const OPEN = 1;  // WebSocket.OPEN, the same in every implementation

/** A refusal: `code` names it; for server replies `status` and `id` are the reply's. */
export class TetherError extends Error {
  constructor(code, message, { status = null, id = null, data = null, httpStatus = null, reason = null } = {}) {
    super(message);
    this.name = "TetherError";
    this.code = code;
    this.status = status;
    this.id = id;
    this.data = data;
    this.httpStatus = httpStatus;
    this.reason = reason;
  }

  /** The error for a server reply with status 1 or more. */
  static fromReply(reply) {
    const code = STATUS_CODES[reply.status] || "status";
    return new TetherError(code, String(reply.message), { status: reply.status, id: reply.id ?? null, data: reply.data ?? null });
  }
}

/** Whether `id` is a device id a device may have (docs/protocol.md, "Connecting a device"). */
export function validId(id) {
  return typeof id === "string" && ID_PATTERN.test(id) && id !== "all" && id !== "server";
}

/**
 * What a frame from the server is, judged only by what a peer cannot forge: the server checks
 * every routed message's "from" against its sender, and its own replies never carry "from".
 *   "reply"    a server reply: {"status":N,...} without "from"
 *   "presence" {"from":ID,"to":"all","msg":"online"|"offline"} (a peer can only speak for itself)
 *   "message"  a routed message to us: "from" a valid id, "to" our id
 *   "server"   the server's own message to us: "from":"server" (reserved, so no device can send it)
 *   "ignore"   anything else
 */
export function frameKind(frame, selfId) {
  if (frame === null || typeof frame !== "object" || Array.isArray(frame)) return "ignore";
  if (!("from" in frame)) return typeof frame.status === "number" ? "reply" : "ignore";
  if (frame.from === "server") return frame.to === selfId ? "server" : "ignore";
  if (!validId(frame.from)) return "ignore";
  if (frame.to === "all") return frame.msg === "online" || frame.msg === "offline" ? "presence" : "ignore";
  return frame.to === selfId ? "message" : "ignore";
}

/** The delay before reconnect attempt `attempt` (0 first): full jitter under a doubling cap. */
export function backoffDelay(attempt, { baseMs = DEFAULT_BACKOFF.baseMs, capMs = DEFAULT_BACKOFF.capMs, random = Math.random } = {}) {
  const ceiling = Math.min(capMs, baseMs * Math.pow(2, Math.min(attempt, 30)));
  return Math.floor(random() * ceiling);
}

/** The claims of a JWT, read without checking its signature (the server does that), or null. */
export function tokenClaims(token) {
  if (typeof token !== "string") return null;
  const parts = token.split(".");
  if (parts.length !== 3) return null;
  try {
    const base64 = parts[1].replace(/-/g, "+").replace(/_/g, "/");
    const binary = atob(base64 + "===".slice((base64.length + 3) % 4));
    const claims = JSON.parse(new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0))));
    return claims !== null && typeof claims === "object" && !Array.isArray(claims) ? claims : null;
  } catch (e) {
    return null;
  }
}

/** The device id a token was issued to (its "sub"), or null. */
export function tokenSubject(token) {
  const claims = tokenClaims(token);
  return claims && validId(claims.sub) ? claims.sub : null;
}

// The server's address as "ws[s]://host[:port][/prefix]" or "http[s]://..."; in a page, its own.
function serverBase(url, secure, plain) {
  if (url == null) {
    if (typeof location === "undefined") throw new TypeError("connect: url is required outside a page");
    url = location.origin;
  }
  const parsed = new URL(String(url));
  const isSecure = parsed.protocol === "https:" || parsed.protocol === "wss:";
  if (!["http:", "https:", "ws:", "wss:"].includes(parsed.protocol)) throw new TypeError("url must be ws:, wss:, http: or https:");
  return (isSecure ? secure : plain) + "//" + parsed.host + parsed.pathname.replace(/\/+$/, "");
}

const socketBase = (url) => serverBase(url, "wss:", "ws:");
const httpBase = (url) => serverBase(url, "https:", "http:");

function fetchOf(given) {
  const found = given || (typeof fetch === "function" ? fetch.bind(globalThis) : null);
  if (!found) throw new TypeError("no fetch available: pass one");
  return found;
}

/** "open" or "token": how the server admits devices (GET /auth; a server without it is open). */
export async function authMode({ url, fetch: fetchImpl } = {}) {
  let response;
  try {
    response = await fetchOf(fetchImpl)(httpBase(url) + "/auth", { cache: "no-store" });
  } catch (e) {
    throw new TetherError("unreachable", "could not reach the server: " + e.message);
  }
  if (response.status === 404) return "open";
  if (!response.ok) throw new TetherError("http", "GET /auth answered " + response.status, { httpStatus: response.status });
  const answer = await response.json().catch(() => null);
  return answer && answer.data && answer.data.mode === "token" ? "token" : "open";
}

/**
 * Token mode: trades a pairing code (and the phone's current token, to keep its id) for a phone
 * token. Resolves {deviceId, token, box, expires}; rejects with a TetherError "pair_failed"
 * (reason "used", "unknown" or "expired", or httpStatus 429 when rate limited) or "unreachable".
 */
export async function pair({ url, code, token = null, fetch: fetchImpl } = {}) {
  if (typeof code !== "string" || !code) throw new TypeError("pair: code is required");
  let response, answer;
  try {
    response = await fetchOf(fetchImpl)(httpBase(url) + "/pair", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(token ? { code, token } : { code }),
    });
    answer = await response.json().catch(() => null);
  } catch (e) {
    throw new TetherError("unreachable", "could not reach the server: " + e.message);
  }
  const data = (answer && answer.data) || {};
  if (response.ok && answer.status === 0 && typeof data.token === "string" && validId(data.device_id)) {
    return { deviceId: data.device_id, token: data.token, box: data.box, expires: data.expires };
  }
  const message = (answer && answer.message) || "POST /pair answered " + response.status;
  throw new TetherError("pair_failed", message, {
    status: answer ? answer.status : null, httpStatus: response.status, reason: data.reason || null, data,
  });
}

/** Opens a client (see TetherClient) and starts connecting. */
export function connect(options) {
  const client = new TetherClient(options);
  client.open();
  return client;
}

/**
 * One device's link. Events (client.on(type, listener), which returns an unsubscribe function):
 *   "state"    {phase: "connecting"|"open"|"waiting"|"stopped"|"closed", delayMs?, attempt?, code?, reason?}
 *   "stop"     {reason: "replaced"|"disconnected"|"expired", code}: the server said not to come back
 *   "message"  {from, to, msg, frame}: a routed message to us, or the server's own (from "server")
 *   "presence" {id, state, previous, announced}: each state learned of a watched id, changed or not
 *   "online", "offline"  id: a watched id whose state changed to that
 *   "reply"    frame: a server reply no pending send or command claimed (a late status 1, say)
 */
export class TetherClient {
  constructor({
    url, deviceId, token = null, watch = [], WebSocket: WebSocketImpl, fetch: fetchImpl,
    backoff = DEFAULT_BACKOFF, replyWindowMs = DEFAULT_REPLY_WINDOW_MS, queueLimit = DEFAULT_QUEUE_LIMIT,
    probeMs = DEFAULT_PROBE_MS, connectTimeoutMs = DEFAULT_CONNECT_TIMEOUT_MS, random = Math.random,
  } = {}) {
    if (!validId(deviceId)) throw new TypeError("connect: deviceId is not a valid device id");
    this.url = socketBase(url);
    this.deviceId = deviceId;
    this.token = token;
    this.WebSocket = WebSocketImpl || globalThis.WebSocket;
    if (typeof this.WebSocket !== "function") throw new TypeError("no WebSocket available: pass one (in Node, the ws package)");
    this.fetch = fetchImpl;
    this.backoff = { ...DEFAULT_BACKOFF, ...backoff, random };
    this.replyWindowMs = replyWindowMs;
    this.queueLimit = queueLimit;
    this.probeMs = probeMs;
    this.connectTimeoutMs = connectTimeoutMs;
    /** Watched id -> "online" | "offline" | "unknown". Read it; change it with watch() and unwatch(). */
    this.presence = new Map();
    for (const id of watch) if (validId(id)) this.presence.set(id, "unknown");
    this.phase = "idle";
    this.socket = null;
    this.attempt = 0;
    this.nextId = 1;
    this.queue = [];          // sends waiting for a link, in order
    this.pending = new Map(); // id -> a send or command on the wire
    this.listeners = new Map();
    this.timers = { retry: null, connect: null, probe: null, stable: null };
    this.lastHeard = 0;
  }

  get connected() {
    return this.socket !== null && this.socket.readyState === OPEN;
  }

  on(type, listener) {
    if (!this.listeners.has(type)) this.listeners.set(type, new Set());
    this.listeners.get(type).add(listener);
    return () => this.off(type, listener);
  }

  off(type, listener) {
    this.listeners.get(type)?.delete(listener);
  }

  /** Connects (again, after close() or a stop). Does nothing while connecting or connected. */
  open() {
    if (this.socket) return;
    clearTimeout(this.timers.retry);
    let url = this.url + "/?device_id=" + encodeURIComponent(this.deviceId);
    if (this.token) url += "&token=" + encodeURIComponent(this.token);
    let socket;
    try {
      socket = new this.WebSocket(url);
    } catch (e) {
      return this.retry(null, e.message);
    }
    this.socket = socket;
    this.setPhase({ phase: "connecting" });
    socket.onopen = () => this.opened(socket);
    socket.onmessage = (event) => this.received(socket, event.data);
    socket.onclose = (event) => this.dropped(socket, event.code, event.reason);
    socket.onerror = () => {};  // a close follows; Node's ws would throw on an unheard error
    this.timers.connect = setTimeout(() => this.giveUp(socket, "no answer to the handshake"), this.connectTimeoutMs);
  }

  /** Leaves with a normal close and stops reconnecting; queued and pending sends are refused "closed". */
  close() {
    const socket = this.socket;
    this.socket = null;
    this.stopTimers();
    if (socket) socket.close(1000, "client closed");
    this.refuseAll("closed", "the client was closed");
    this.setPhase({ phase: "closed" });
  }

  /**
   * Sends msg to device `to`. Resolves {id} when no error reply came within the reply window,
   * or {id, queued: true} when the server kept it for an offline recipient (with {ttl: seconds});
   * rejects with a TetherError: status 1-6 replies ("offline", "forbidden", ...), "queue_full",
   * "not_connected" (with {queue: false}, or after a stop or close), "link_lost" (the link
   * dropped inside the window: delivery unknown).
   */
  send(to, msg, { queue = true, ttl } = {}) {
    if (typeof to !== "string") return Promise.reject(new TypeError("send: to must be a device id"));
    if (msg === undefined) return Promise.reject(new TypeError("send: msg is required"));
    return new Promise((resolve, reject) => {
      const entry = { id: this.nextId++, to, msg, ttl, resolve, reject, windowMs: this.replyWindowMs };
      if (this.connected) return this.transmit(entry);
      const holding = this.phase === "connecting" || this.phase === "waiting";
      if (!queue || !holding) return reject(new TetherError("not_connected", "not connected to the server", { id: entry.id }));
      if (this.queue.length >= this.queueLimit) {
        return reject(new TetherError("queue_full", "over " + this.queueLimit + " sends wait for the link", { id: entry.id }));
      }
      this.queue.push(entry);
    });
  }

  /** A server command ("queryStatus", "pairingCode", "unpair", ...): resolves the status 0 reply. */
  command(msg, data) {
    if (!this.connected) return Promise.reject(new TetherError("not_connected", "not connected to the server"));
    return new Promise((resolve, reject) => {
      this.transmit({ id: this.nextId++, to: "server", msg, data, resolve, reject, windowMs: COMMAND_TIMEOUT_MS, command: true });
    });
  }

  /** Adds ids to the presence map and, when connected, asks the server about them. */
  watch(ids) {
    const added = ids.filter((id) => validId(id) && !this.presence.has(id));
    for (const id of added) this.presence.set(id, "unknown");
    if (this.connected && added.length) this.queryPresence(added);
  }

  unwatch(ids) {
    for (const id of ids) this.presence.delete(id);
  }

  /** Token mode: hands the server a fresh token for this id (before the old one expires). */
  async refresh(token) {
    if (!this.connected) {
      this.token = token;  // proved at the next connect
      return null;
    }
    const reply = await this.command("refresh", { token });
    this.token = token;
    return reply.data;
  }

  /** Token mode: pairs with a box by its code, keeping the new token (and id), and watches the box. */
  async pair(code) {
    const paired = await pair({ url: this.url, code, token: this.token, fetch: this.fetch });
    const changed = paired.deviceId !== this.deviceId || paired.token !== this.token;
    this.deviceId = paired.deviceId;
    this.token = paired.token;
    if (validId(paired.box)) this.watch([paired.box]);
    if (changed && this.socket) this.reconnectNow();
    return paired;
  }

  // MARK: the link

  opened(socket) {
    if (socket !== this.socket) return;
    clearTimeout(this.timers.connect);
    this.lastHeard = Date.now();
    this.timers.probe = setInterval(() => this.probe(), this.probeMs / 2);
    this.timers.stable = setTimeout(() => { this.attempt = 0; }, STABLE_AFTER_MS);
    this.setPhase({ phase: "open" });
    // Re-asked after every connect: what changed during a gap is learned here.
    if (this.presence.size) this.queryPresence(Array.from(this.presence.keys()));
    const waiting = this.queue;
    this.queue = [];
    for (const entry of waiting) this.transmit(entry);
  }

  received(socket, data) {
    if (socket !== this.socket) return;
    this.lastHeard = Date.now();
    let frame;
    try { frame = JSON.parse(data); } catch (e) { return; }
    switch (frameKind(frame, this.deviceId)) {
      case "reply": return this.replied(frame);
      case "presence":
        if (this.presence.has(frame.from)) this.learn(frame.from, frame.msg, true);
        return;
      case "message":
      case "server":
        return this.emit("message", { from: frame.from, to: frame.to, msg: frame.msg, frame });
    }
  }

  replied(frame) {
    const entry = typeof frame.id === "number" ? this.pending.get(frame.id) : undefined;
    if (!entry) return this.emit("reply", frame);
    this.pending.delete(frame.id);
    clearTimeout(entry.timer);
    if (frame.status === QUEUED && !entry.command) entry.resolve({ id: entry.id, queued: true });
    else if (frame.status !== 0) entry.reject(TetherError.fromReply(frame));
    else entry.resolve(entry.command ? frame : { id: entry.id });
  }

  dropped(socket, code, reason) {
    if (socket !== this.socket) return;
    this.socket = null;
    this.stopTimers();
    this.refusePending("link_lost", "the link dropped before the reply window ended; delivery unknown");
    const final = FINAL_CLOSES[code];
    if (!final) return this.retry(code, reason);
    this.refuseQueue("not_connected", "stopped: " + final);
    this.setPhase({ phase: "stopped", reason: final, code });
    this.emit("stop", { reason: final, code });
  }

  retry(code, reason) {
    const delayMs = backoffDelay(this.attempt, this.backoff);
    this.setPhase({ phase: "waiting", delayMs, attempt: this.attempt, code, reason });
    this.attempt += 1;
    this.timers.retry = setTimeout(() => this.open(), delayMs);
  }

  // Closes the link (no event) and opens a new one at once: a new id or token takes effect.
  reconnectNow() {
    const socket = this.socket;
    this.socket = null;
    this.stopTimers();
    this.refusePending("link_lost", "reconnecting with new credentials");
    if (socket) socket.close(1000, "reconnecting");
    this.open();
  }

  // Browsers cannot see pings and a dropped network sends no close: silent too long, ask the
  // server something; silent again after that, give the link up.
  probe() {
    const silentMs = Date.now() - this.lastHeard;
    if (silentMs > this.probeMs * 1.5) {
      this.giveUp(this.socket, "no answer to the probe");
    } else if (silentMs > this.probeMs / 2) {
      const ids = Array.from(this.presence.keys());
      this.queryPresence(ids.length ? ids : [this.deviceId]);
    }
  }

  // Treats a silent link as dropped, then closes it (its own close event comes late, if ever).
  giveUp(socket, reason) {
    if (!socket || socket !== this.socket) return;
    this.dropped(socket, 1006, reason);
    if (typeof socket.terminate === "function") socket.terminate(); else socket.close();
  }

  queryPresence(ids) {
    for (let start = 0; start < ids.length; start += 100) {
      const asked = ids.slice(start, start + 100);
      this.command("queryStatus", asked).then((reply) => {
        const states = reply.data || {};
        for (const id of asked) {
          if (this.presence.has(id) && (states[id] === "online" || states[id] === "offline")) this.learn(id, states[id], false);
        }
      }, () => {});  // a lost link asks again at the next connect
    }
  }

  learn(id, state, announced) {
    const previous = this.presence.get(id);
    this.presence.set(id, state);
    this.emit("presence", { id, state, previous, announced });
    if (state !== previous) this.emit(state, id);
  }

  transmit(entry) {
    const frame = { from: this.deviceId, to: entry.to, msg: entry.msg, id: entry.id };
    if (entry.data !== undefined) frame.data = entry.data;
    if (entry.ttl !== undefined) frame.ttl = entry.ttl;
    let text;
    try { text = JSON.stringify(frame); } catch (e) { return entry.reject(e); }
    this.socket.send(text);
    this.pending.set(entry.id, entry);
    entry.timer = setTimeout(() => {
      this.pending.delete(entry.id);
      if (entry.command) entry.reject(new TetherError("timeout", "the server did not answer " + entry.msg, { id: entry.id }));
      else entry.resolve({ id: entry.id });
    }, entry.windowMs);
  }

  refusePending(code, message) {
    const entries = Array.from(this.pending.values());
    this.pending.clear();
    for (const entry of entries) {
      clearTimeout(entry.timer);
      entry.reject(new TetherError(code, message, { id: entry.id }));
    }
  }

  refuseQueue(code, message) {
    const entries = this.queue;
    this.queue = [];
    for (const entry of entries) entry.reject(new TetherError(code, message, { id: entry.id }));
  }

  refuseAll(code, message) {
    this.refusePending(code, message);
    this.refuseQueue(code, message);
  }

  stopTimers() {
    clearTimeout(this.timers.retry);
    clearTimeout(this.timers.connect);
    clearInterval(this.timers.probe);
    clearTimeout(this.timers.stable);
  }

  setPhase(state) {
    this.phase = state.phase;
    this.emit("state", state);
  }

  emit(type, value) {
    for (const listener of Array.from(this.listeners.get(type) || [])) {
      try {
        listener(value);
      } catch (error) {
        queueMicrotask(() => { throw error; });  // a listener's bug must not stop the link
      }
    }
  }
}
