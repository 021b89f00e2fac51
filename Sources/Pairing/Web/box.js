// The set-top box page: shows its pairing QR code, the phones paired with it and what they send.
// In token mode its id is the "sub" of the token the TV launcher gives it, and the QR code holds a
// one-time pairing code the server hands out. The link itself is the client library's.
import { connect, tokenSubject, validId } from "/tether-client.js";
import { serverAuthMode, storageGet, storageSet, storedId } from "/static/page.js";

(async function () {
  const params = new URLSearchParams(location.search);
  const $ = (id) => document.getElementById(id);
  const tokenMode = (await serverAuthMode()) === "token";
  const token = tokenMode ? boxToken() : null;
  if (tokenMode && !token) {
    $("status").className = "status replaced";
    $("status").textContent = "This box has no token: open it from the TV launcher.";
    $("pair-url").textContent = "";
    return;
  }
  const pinned = params.get("id");
  const boxId = tokenMode ? tokenSubject(token) : validId(pinned) ? pinned : storedId("tether.box.id", "box-");
  const phonesKey = "tether.box.phones." + boxId;
  const maxPhones = 20;
  const maxMessages = 50;
  const phones = new Map(loadPhones().map((id) => [id, "unknown"]));
  let codeTimer = null;

  $("box-id").textContent = boxId;
  if (tokenMode) {
    // /pair/ID.* is refused in token mode: the QR code comes with each pairing code.
    $("pair-url").textContent = "Getting a pairing code…";
  } else {
    $("qr").src = "/pair/" + encodeURIComponent(boxId) + ".svg";
    fetch("/pair/" + encodeURIComponent(boxId) + ".json")
      .then((response) => response.json())
      .then((answer) => { if (answer.data && answer.data.url) $("pair-url").textContent = answer.data.url; })
      .catch(() => {});
  }

  const client = connect({ deviceId: boxId, token: token, watch: Array.from(phones.keys()) });
  client.on("state", showState);
  client.on("presence", ({ id, state }) => {
    if (!phones.has(id)) return;
    phones.set(id, state);
    renderPhones();
  });
  client.on("message", handleMessage);
  // A page kept in the back/forward cache would keep its socket, and the box would look online.
  addEventListener("pagehide", () => client.close());
  addEventListener("pageshow", (event) => { if (event.persisted) client.open(); });
  renderPhones();

  // The token from the address (kept, then taken out of the address: it is a credential), else
  // the stored one; null when neither names a valid id.
  function boxToken() {
    const given = params.get("token");
    if (tokenSubject(given)) {
      if (storageSet("tether.box.token", given)) {
        params.delete("token");
        const rest = params.toString();
        history.replaceState(null, "", location.pathname + (rest ? "?" + rest : "") + location.hash);
      }
      return given;
    }
    const stored = storageGet("tether.box.token");
    return tokenSubject(stored) ? stored : null;
  }

  function showState(state) {
    const status = $("status");
    status.className = "status " + (state.phase === "stopped" ? state.reason : state.phase);
    switch (state.phase) {
      case "connecting": status.textContent = "Connecting to the server…"; break;
      case "open": status.textContent = "Connected."; break;
      case "waiting":
        status.textContent = "Connection lost. Reconnecting in " + Math.max(1, Math.round(state.delayMs / 1000)) + " s…";
        break;
      case "stopped": status.textContent = {
        replaced: "This box id was opened on another screen; this one has stopped.",
        disconnected: "This box was disconnected by the operator; it has stopped.",
        expired: "This box's token expired; it has stopped. Open it again from the TV launcher.",
      }[state.reason]; break;
    }
    if (tokenMode && state.phase === "open") askForCode();
  }

  function askForCode() {
    clearTimeout(codeTimer);
    client.command("pairingCode").then((reply) => {
      if (isCode(reply.data)) showCode(reply.data);
    }, (error) => {
      if (error.code === "link_lost" || error.code === "not_connected") return;  // asked again at the next connect
      // Rate limited (status 6) clears within seconds; anything else is not worth asking often.
      $("pair-url").textContent = "No pairing code (" + error.message + "); asking again soon.";
      clearTimeout(codeTimer);
      codeTimer = setTimeout(askForCode, error.status === 6 ? 3000 : 30000);
    });
  }

  function showCode(data) {
    $("qr").src = data.svg;
    $("pair-url").textContent = data.url;
    // 30 s before it expires; bounded, since the TV's clock may disagree with the server's.
    const delayMs = Math.min(300000, Math.max(10000, data.expires * 1000 - Date.now() - 30000));
    clearTimeout(codeTimer);
    codeTimer = setTimeout(askForCode, delayMs);
  }

  function isCode(data) {
    return data && typeof data.code === "string" && typeof data.url === "string"
      && typeof data.svg === "string" && data.svg.startsWith("/pair/") && typeof data.expires === "number";
  }

  function handleMessage({ from, msg, frame }) {
    if (from === "server") {
      // A phone redeemed our code: list it, and show a fresh code (that one is spent).
      if (msg === "paired" && frame.data && validId(frame.data.phone)) {
        remember(frame.data.phone);
        if (tokenMode) askForCode();  // open mode has no codes (the server answers status 2)
      }
      return;
    }
    remember(from);
    // Kept 30 s like the pair request, should the phone drop meanwhile; key presses are never kept.
    if (msg && msg.type === "pair") client.send(from, { type: "paired", box: boxId }, { queue: false, ttl: 30 }).catch(() => {});
    showMessage(from, msg);
  }

  function remember(phoneId) {
    const newest = Array.from(phones.keys()).pop();
    if (newest === phoneId && phones.get(phoneId) === "online") return;  // the usual press: nothing changes
    phones.delete(phoneId);
    phones.set(phoneId, "online");  // newest last
    client.watch([phoneId]);
    while (phones.size > maxPhones) forgetQuietly(phones.keys().next().value);
    savePhones();
    renderPhones();
  }

  function forget(phoneId) {
    forgetQuietly(phoneId);
    savePhones();
    renderPhones();
  }

  function forgetQuietly(phoneId) {
    phones.delete(phoneId);
    client.unwatch([phoneId]);
  }

  function unpair(phoneId) {
    client.command("unpair", [phoneId]).then(() => forget(phoneId), (error) => {
      $("status").textContent = error.code === "not_connected"
        ? "Not connected; " + phoneId + " was not removed."
        : "Could not remove " + phoneId + ": " + error.message;
    });
  }

  function savePhones() {
    storageSet(phonesKey, JSON.stringify(Array.from(phones.keys())));  // else memory only
  }

  function loadPhones() {
    try {
      const saved = JSON.parse(localStorage.getItem(phonesKey) || "[]");
      return Array.isArray(saved) ? saved.filter(validId).slice(-maxPhones) : [];
    } catch (e) {
      return [];
    }
  }

  function renderPhones() {
    const list = $("phones");
    list.replaceChildren();
    if (phones.size === 0) return list.append(item("No phone has paired yet.", "empty"));
    for (const [id, state] of Array.from(phones).reverse()) {
      const entry = item("", "phone " + state);
      entry.dataset.id = id;
      entry.append(item(id, "name", "span"), item(state === "unknown" ? "…" : state, "state", "span"));
      if (tokenMode) {
        const remove = item("remove", "remove", "button");
        remove.type = "button";
        remove.setAttribute("aria-label", "Remove " + id);
        remove.addEventListener("click", () => unpair(id));
        entry.append(remove);
      }
      list.append(entry);
    }
  }

  function showMessage(from, msg) {
    const list = $("messages");
    list.querySelector(".empty")?.remove();
    const entry = item("", "message");
    const time = new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
    entry.append(item(time, "time", "span"), item(from, "from", "span"), item(describe(msg), "what", "span"));
    list.prepend(entry);
    while (list.children.length > maxMessages) list.lastElementChild.remove();
  }

  function describe(msg) {
    if (msg && msg.type === "key" && typeof msg.key === "string") return "pressed " + msg.key.toUpperCase();
    if (msg && msg.type === "text" && typeof msg.text === "string") return "“" + msg.text + "”";
    if (msg && msg.type === "pair") return "paired";
    return JSON.stringify(msg);
  }

  function item(text, className, tag = "li") {
    const element = document.createElement(tag);
    element.className = className;
    element.textContent = text;
    return element;
  }
})();
