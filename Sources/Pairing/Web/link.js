"use strict";
// One device's WebSocket to Tether. It reopens with capped, jittered backoff when the link drops,
// and probes the server now and then, because a dropped network sends no close.

const TETHER_ID_PATTERN = /^[A-Za-z0-9._\-:@~]{1,128}$/;

function tetherValidId(id) {
  return typeof id === "string" && TETHER_ID_PATTERN.test(id) && id !== "all" && id !== "server";
}

// What a frame from the server is, judged only by what a peer cannot forge: the server checks
// every routed message's "from" against its sender, and its own replies never carry "from".
//   "reply"    a server reply: {"status":N,...} without "from"
//   "presence" {"from":ID,"to":"all","msg":"online"|"offline"} (a peer can only speak for itself)
//   "message"  a routed message to us: "from" a valid id, "to" our id
//   "server"   the server's own message to us: "from":"server" (reserved, so no device can send it)
//   "ignore"   anything else
function tetherFrameKind(frame, selfId) {
  if (frame === null || typeof frame !== "object" || Array.isArray(frame)) return "ignore";
  if (!("from" in frame)) return typeof frame.status === "number" ? "reply" : "ignore";
  if (frame.from === "server") return frame.to === selfId ? "server" : "ignore";
  if (!tetherValidId(frame.from)) return "ignore";
  if (frame.to === "all") return frame.msg === "online" || frame.msg === "offline" ? "presence" : "ignore";
  return frame.to === selfId ? "message" : "ignore";
}

// A stored id, or a new random one with the given prefix, kept in localStorage.
function tetherStoredId(key, prefix) {
  let id = null;
  try { id = localStorage.getItem(key); } catch (e) { /* storage may be disabled */ }
  if (!tetherValidId(id)) {
    const alphabet = "abcdefghjkmnpqrstuvwxyz23456789";
    const random = new Uint8Array(6);
    crypto.getRandomValues(random);
    id = prefix + Array.from(random, (b) => alphabet[b % alphabet.length]).join("");
    try { localStorage.setItem(key, id); } catch (e) { /* the id then lasts for this page only */ }
  }
  return id;
}

// The claims of a JWT, read without checking its signature (the server does that): the page only
// needs to know which id the token is for. Null when it is not a readable JWT.
function tetherTokenClaims(token) {
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

// The device id a token was issued to (its "sub"), or null.
function tetherTokenSubject(token) {
  const claims = tetherTokenClaims(token);
  return claims && tetherValidId(claims.sub) ? claims.sub : null;
}

// "open" or "token", from GET /auth. A server without the route is open; a busy or unreachable
// server is asked again, since guessing wrong would connect without the token it needs.
async function tetherAuthMode() {
  for (let delayMs = 500; ; delayMs = Math.min(15000, delayMs * 2)) {
    try {
      const response = await fetch("/auth", { cache: "no-store" });
      if (response.status === 404) return "open";
      if (response.ok) {
        const answer = await response.json();
        return answer && answer.data && answer.data.mode === "token" ? "token" : "open";
      }
    } catch (e) { /* asked again below */ }
    await new Promise((resolve) => setTimeout(resolve, delayMs));
  }
}

function tetherStorageGet(key) {
  try { return localStorage.getItem(key); } catch (e) { return null; }
}

// False when storage is disabled or full.
function tetherStorageSet(key, value) {
  try { localStorage.setItem(key, value); return true; } catch (e) { return false; }
}

class TetherLink {
  // deviceId: who we are; token: our JWT in token mode (null in open mode). watched(): ids to ask
  // about at connect. onState({phase, ...}) and onFrame(object) report what happens.
  constructor({ deviceId, token = null, watched = () => [], onState, onFrame, probeSeconds = 25 }) {
    this.deviceId = deviceId;
    this.token = token;
    this.watched = watched;
    this.onState = onState;
    this.onFrame = onFrame;
    this.probeMs = probeSeconds * 1000;
    this.failures = 0;
    this.socket = null;
    this.retryTimer = null;
    this.probeTimer = null;
    this.lastHeard = 0;
    // A page kept in the back/forward cache would keep its socket, and the device would look online.
    addEventListener("pagehide", () => this.close());
    addEventListener("pageshow", (event) => { if (event.persisted) this.open(); });
  }

  // Leaves for good (until open() is called again): a normal close, no retry.
  close() {
    const socket = this.socket;
    this.socket = null;
    clearTimeout(this.retryTimer);
    clearInterval(this.probeTimer);
    if (socket) socket.close(1000, "page closed");
  }

  open() {
    clearTimeout(this.retryTimer);
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    let url = scheme + location.host + "/?device_id=" + encodeURIComponent(this.deviceId);
    const watched = this.watched().filter(tetherValidId).slice(0, 100);
    if (watched.length) url += "&queryStatus=" + watched.map(encodeURIComponent).join(",");
    if (this.token) url += "&token=" + encodeURIComponent(this.token);
    const socket = new WebSocket(url);
    this.socket = socket;
    this.onState({ phase: "connecting" });
    socket.onopen = () => {
      this.failures = 0;
      this.lastHeard = Date.now();
      this.probeTimer = setInterval(() => this.probe(), this.probeMs / 2);
      this.onState({ phase: "open" });
    };
    socket.onmessage = (event) => {
      this.lastHeard = Date.now();
      let frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      if (frame && typeof frame === "object") this.onFrame(frame);
    };
    socket.onclose = (event) => this.dropped(socket, event.code);
  }

  // Sends {"from": us, "to": to, "msg": msg, ...extra}. False when the link is not open.
  send(to, msg, extra = {}) {
    if (!this.socket || this.socket.readyState !== WebSocket.OPEN) return false;
    this.socket.send(JSON.stringify({ from: this.deviceId, to: to, msg: msg, ...extra }));
    return true;
  }

  // Silent too long: ask the server something; silent again after that, give the link up.
  probe() {
    const silentMs = Date.now() - this.lastHeard;
    if (silentMs > this.probeMs * 1.5) {
      const socket = this.socket;
      this.dropped(socket, 1006);
      if (socket) socket.close();
    } else if (silentMs > this.probeMs / 2) {
      const ids = this.watched().filter(tetherValidId).slice(0, 100);
      const query = { from: this.deviceId, to: "server", msg: "queryStatus", data: ids.length ? ids : [this.deviceId] };
      if (this.socket && this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(query));
    }
  }

  dropped(socket, code) {
    if (socket !== this.socket) return;
    this.socket = null;
    clearInterval(this.probeTimer);
    // Closes that retrying cannot mend: another page took our id (retrying would push it out in
    // turn), the operator cut us off, or our token expired.
    const final = { 4001: "replaced", 4002: "disconnected", 4003: "expired" }[code];
    if (final) {
      this.onState({ phase: final });
      return;
    }
    const delayMs = Math.min(15000, 500 * Math.pow(2, this.failures)) * (0.75 + Math.random() / 2);
    this.failures += 1;
    this.onState({ phase: "waiting", seconds: Math.max(1, Math.round(delayMs / 1000)), code: code });
    this.retryTimer = setTimeout(() => this.open(), delayMs);
  }
}
