// The operator console: sign in with the API key (traded at once for an HttpOnly session cookie;
// the key is not kept), then one server-sent event a second drives the tiles, the charts of the
// last 15 minutes, the node table and the recent events. Lookups and kicks go to /api/console.
import { lineChart, WINDOW_MS } from "/static/console-charts.js";

const $ = (id) => document.getElementById(id);
const MAX_EVENTS = 500;
const number = new Intl.NumberFormat("en", { maximumFractionDigits: 1 });

let stream = null;
let retry = null;
let samples = [];
let events = [];
let lastSeq = 0;

async function api(method, path, body) {
  const options = { method, cache: "no-store", credentials: "same-origin", headers: {} };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  try {
    const response = await fetch(path, options);
    let data = null;
    try { data = await response.json(); } catch (e) { /* not JSON */ }
    return { status: response.status, data };
  } catch (e) {
    return { status: 0, data: null };
  }
}

function bytes(value) {
  const units = ["B", "KiB", "MiB", "GiB"];
  let index = 0;
  while (value >= 1024 && index < units.length - 1) { value /= 1024; index += 1; }
  return `${number.format(value)} ${units[index]}`;
}

function clock(milliseconds) {
  return new Date(milliseconds).toLocaleTimeString("en-GB", { hour12: false });
}

function linkState(text, live = false) {
  $("link-state").textContent = text;
  $("link-state").className = live ? "link-state live" : "link-state";
}

// Sign-in and sign-out

function showSignIn(message = "") {
  if (stream) { stream.close(); stream = null; }
  clearTimeout(retry);
  $("board").hidden = true;
  $("sign-out").hidden = true;
  $("sign-in").hidden = false;
  $("sign-in-error").textContent = message;
  linkState("Signed out");
  $("key").focus();
}

function showBoard() {
  $("sign-in").hidden = true;
  $("sign-in-error").textContent = "";
  $("board").hidden = false;
  $("sign-out").hidden = false;
  connect();
}

$("sign-in").addEventListener("submit", async (event) => {
  event.preventDefault();
  const key = $("key").value;
  $("key").value = "";  // the key leaves the page now: only the HttpOnly cookie stays
  const { status, data } = await api("POST", "/api/console/session", { key });
  if (status === 200) {
    showBoard();
    $("main").focus();
  } else if (status === 401) {
    showSignIn("That key was refused.");
  } else if (status === 429) {
    showSignIn("Too many failed attempts; wait a few seconds.");
  } else {
    showSignIn(data?.message || "The server did not answer; try again.");
  }
});

$("sign-out").addEventListener("click", async () => {
  await api("POST", "/api/console/signout");
  showSignIn();
});

// The live stream

function connect() {
  if (stream) stream.close();
  linkState("Connecting…");
  stream = new EventSource("/api/console/live");
  stream.addEventListener("open", () => linkState("Live", true));
  stream.addEventListener("history", (event) => {
    const data = JSON.parse(event.data);
    samples = data.samples;
    events = [];
    lastSeq = 0;
    addEvents(data.events);
    showNodes(data.nodes);
    render();
  });
  stream.addEventListener("message", (event) => {
    const data = JSON.parse(event.data);
    samples.push(data.sample);
    const from = data.sample.t - WINDOW_MS;
    while (samples.length && samples[0].t < from) samples.shift();
    addEvents(data.events);
    showNodes(data.nodes);
    render();
  });
  stream.addEventListener("error", async () => {
    if (stream.readyState !== EventSource.CLOSED) return linkState("Reconnecting…");
    // Closed for good: a refused stream (the session ended) or a server gone for longer.
    stream = null;
    const { status } = await api("GET", "/api/console/session");
    if (status === 401) return showSignIn("Your session has ended; sign in again.");
    linkState("Reconnecting…");
    retry = setTimeout(connect, 2000);
  });
}

// Tiles and charts

const charts = [];
function chart(id, title, format, series) {
  charts.push({ update: lineChart($("charts"), { id, title, series }), format });
}
const perSecond = (value) => `${number.format(value)}/s`;
chart("chart-devices", "Devices online", (v) => number.format(v), [
  { label: "boxes", value: (s) => s.box }, { label: "phones", value: (s) => s.phone }, { label: "other", value: (s) => s.other }]);
chart("chart-connects", "Connects and disconnects", perSecond, [
  { label: "connects", value: (s) => s.in }, { label: "disconnects", value: (s) => s.out }]);
chart("chart-routed", "Messages routed", perSecond, [{ label: "routed", value: (s) => s.routed }]);
chart("chart-replies", "Error replies by status", perSecond,
  [1, 2, 3, 4, 5, 6].map((status) => ({ label: `${status}`, value: (s) => s.replies[status - 1] })));
chart("chart-queued", "Queued bytes", bytes, [{ label: "queued", value: (s) => s.queued }]);
chart("chart-closes", "Closes and auth failures", perSecond, [
  { label: "slow consumer", value: (s) => s.slow }, { label: "rate limit", value: (s) => s.limited },
  { label: "auth failures", value: (s) => s.auth }]);

function render() {
  const latest = samples[samples.length - 1];
  if (!latest) return;
  $("now-devices").textContent = number.format(latest.box + latest.phone + latest.other);
  $("now-classes").textContent = `${latest.box} boxes, ${latest.phone} phones, ${latest.other} other`;
  $("now-connects").textContent = number.format(latest.in);
  $("now-disconnects").textContent = number.format(latest.out);
  $("now-routed").textContent = number.format(latest.routed);
  const replies = latest.replies.reduce((sum, value) => sum + value, 0);
  $("now-replies").textContent = number.format(replies);
  $("now-replies-by").textContent = latest.replies.map((value, index) => value ? `${index + 1}: ${number.format(value)}` : "")
    .filter(Boolean).join(", ") || "none";
  $("now-queued").textContent = bytes(latest.queued);
  $("now-slow").textContent = number.format(latest.slow);
  $("now-limited").textContent = number.format(latest.limited);
  $("now-auth").textContent = number.format(latest.auth);
  for (const entry of charts) entry.update(samples, latest.t, entry.format);
}

function showNodes(nodes) {
  // A single node has no table; a cluster lists each node (docs/cluster.md).
  $("cluster").hidden = !nodes;
  if (!nodes) return;
  $("nodes").replaceChildren(...nodes.map((node) => row([
    node.id, node.address, number.format(node.devices), number.format(node.msgs), `${number.format(node.lease_age)} s`,
    node.up ? "up" : "gone"], node.up ? "up" : "gone")));
}

function row(cells, className = "") {
  const tr = document.createElement("tr");
  tr.className = className;
  for (const text of cells) {
    const td = document.createElement("td");
    td.textContent = text;
    tr.append(td);
  }
  return tr;
}

// Recent events (newest first, the last 500)

function addEvents(list) {
  let added = false;
  for (const event of list) {
    if (event.seq <= lastSeq) continue;
    events.unshift(event);
    lastSeq = event.seq;
    added = true;
  }
  if (events.length > MAX_EVENTS) events.length = MAX_EVENTS;
  if (added) showEvents();
}

const EVENT_NAMES = { connect: "connect", disconnect: "disconnect", kick: "kick", auth_failure: "auth failure" };

function showEvents() {
  const filter = $("event-filter").value.trim();
  const shown = filter ? events.filter((event) => event.device.includes(filter)) : events;
  $("event-list").replaceChildren(...shown.map((event) => {
    const tr = row([clock(event.time), EVENT_NAMES[event.kind] || event.kind, event.device || "–",
      event.code ? String(event.code) : "", event.detail], `event ${event.kind}`);
    tr.dataset.device = event.device;
    return tr;
  }));
  $("event-count").textContent = filter ? `${shown.length} of ${events.length} events match “${filter}”.`
    : `${events.length} events, newest first.`;
}
$("event-filter").addEventListener("input", showEvents);

// Device lookup

let looked = null;

async function lookUp(id) {
  const { status, data } = await api("GET", `/api/console/devices/${encodeURIComponent(id)}`);
  if (status === 401) return showSignIn("Your session has ended; sign in again.");
  $("lookup-result").hidden = false;
  $("lookup-qr").hidden = true;
  $("lookup-notice").textContent = "";
  if (status !== 200) {
    looked = null;
    $("lookup-notice").textContent = data?.message || "The lookup failed.";
    for (const name of ["device", "state", "since", "node", "kind", "address", "peers", "kept"]) $(`lookup-${name}`).textContent = "";
    $("disconnect").hidden = true;
    $("show-qr").hidden = true;
    return;
  }
  const device = data.data;
  looked = device;
  $("lookup-device").textContent = device.id;
  $("lookup-state").textContent = device.online ? "online" : "offline";
  $("lookup-state").className = device.online ? "online" : "offline";
  $("lookup-since").textContent = device.since ? new Date(device.since * 1000).toLocaleString("en-GB")
    + (device.last_disconnect ? ` (closed ${device.last_disconnect.code}: ${device.last_disconnect.detail})` : "")
    : (device.online ? "" : "not seen in the recent events");
  $("lookup-node").textContent = device.node || "–";
  $("lookup-kind").textContent = device.kind ? device.kind : `${device.class} (by its id)`;
  $("lookup-address").textContent = device.address || "–";
  $("lookup-peers").textContent = device.peers === undefined ? "– (not connected)"
    : device.peers === null ? "– (open mode: no pairing)" : device.peers.join(", ") || "none";
  $("lookup-kept").textContent = `${number.format(device.kept.messages)} (${number.format(device.kept.bytes)} bytes)`;
  $("disconnect").hidden = !device.online;
  $("show-qr").hidden = device.class !== "box" && device.kind !== "box";
}

$("lookup").addEventListener("submit", (event) => {
  event.preventDefault();
  const id = $("lookup-id").value.trim();
  if (id) lookUp(id);
});

$("disconnect").addEventListener("click", async () => {
  if (!looked) return;
  const id = looked.id;
  const { status, data } = await api("POST", `/api/console/devices/${encodeURIComponent(id)}/disconnect`,
    { reason: "disconnected from the console" });
  await lookUp(id);
  $("lookup-notice").textContent = status === 200 ? `Disconnected ${id} (close 4002).` : (data?.message || "The disconnect failed.");
});

$("show-qr").addEventListener("click", async () => {
  if (!looked) return;
  const { status, data } = await api("POST", `/api/console/devices/${encodeURIComponent(looked.id)}/pairing`);
  if (status !== 200) {
    $("lookup-notice").textContent = data?.message || "No pairing code could be made.";
    return;
  }
  $("lookup-qr").src = data.data.svg;
  $("lookup-qr").alt = `QR code that pairs a phone with ${looked.id}`;
  $("lookup-qr").hidden = false;
  $("lookup-notice").textContent = data.data.expires
    ? `A single-use code, valid until ${clock(data.data.expires * 1000)}.` : "The box's pairing QR.";
});

// Start: signed in already (the cookie) or not.
(async () => {
  const { status } = await api("GET", "/api/console/session");
  if (status === 200) showBoard();
  else if (status === 404) linkState("The console is off on this server.");
  else showSignIn();
})();
