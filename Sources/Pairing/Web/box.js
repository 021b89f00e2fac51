"use strict";
// The set-top box page: shows its pairing QR code, the phones paired with it and what they send.
// In token mode its id is the "sub" of the token the TV launcher gives it, and the QR code holds a
// one-time pairing code the server hands out.

(async function () {
  const params = new URLSearchParams(location.search);
  const $ = (id) => document.getElementById(id);
  const tokenMode = (await tetherAuthMode()) === "token";
  const token = tokenMode ? boxToken() : null;
  if (tokenMode && !token) {
    $("status").className = "status replaced";
    $("status").textContent = "This box has no token: open it from the TV launcher.";
    $("pair-url").textContent = "";
    return;
  }
  const pinned = params.get("id");
  const boxId = tokenMode ? tetherTokenSubject(token)
    : tetherValidId(pinned) ? pinned : tetherStoredId("tether.box.id", "box-");
  const phonesKey = "tether.box.phones." + boxId;
  const maxPhones = 20;
  const maxMessages = 50;
  const phones = new Map(loadPhones().map((id) => [id, "unknown"]));
  // Commands sent to the server, by the "id" its reply carries back.
  const asked = new Map();
  let nextAsk = 1;
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

  const link = new TetherLink({
    deviceId: boxId,
    token: token,
    watched: () => Array.from(phones.keys()),
    onState: showState,
    onFrame: handleFrame,
  });
  link.open();
  renderPhones();

  // The token from the address (kept, then taken out of the address: it is a credential), else
  // the stored one; null when neither names a valid id.
  function boxToken() {
    const given = params.get("token");
    if (tetherTokenSubject(given)) {
      if (tetherStorageSet("tether.box.token", given)) {
        params.delete("token");
        const rest = params.toString();
        history.replaceState(null, "", location.pathname + (rest ? "?" + rest : "") + location.hash);
      }
      return given;
    }
    const stored = tetherStorageGet("tether.box.token");
    return tetherTokenSubject(stored) ? stored : null;
  }

  function showState(state) {
    const status = $("status");
    status.className = "status " + state.phase;
    switch (state.phase) {
      case "connecting": status.textContent = "Connecting to the server…"; break;
      case "open": status.textContent = "Connected."; break;
      case "replaced": status.textContent = "This box id was opened on another screen; this one has stopped."; break;
      case "disconnected": status.textContent = "This box was disconnected by the operator; it has stopped."; break;
      case "expired": status.textContent = "This box's token expired; it has stopped. Open it again from the TV launcher."; break;
      case "waiting": status.textContent = "Connection lost. Reconnecting in " + state.seconds + " s…"; break;
    }
    if (tokenMode && state.phase === "open") {
      asked.clear();  // replies to the last connection's commands will not come
      askForCode();
    }
  }

  // Sends a command to the server; its reply is matched by the id.
  function ask(msg, what, extra = {}) {
    const id = nextAsk++;
    if (!link.send("server", msg, { ...extra, id: id })) return false;
    asked.set(id, what);
    return true;
  }

  function askForCode() {
    clearTimeout(codeTimer);
    ask("pairingCode", { command: "pairingCode" });
  }

  function showCode(data) {
    $("qr").src = data.svg;
    $("pair-url").textContent = data.url;
    // 30 s before it expires; bounded, since the TV's clock may disagree with the server's.
    const delayMs = Math.min(300000, Math.max(10000, data.expires * 1000 - Date.now() - 30000));
    clearTimeout(codeTimer);
    codeTimer = setTimeout(askForCode, delayMs);
  }

  function isCode(frame) {
    const data = frame.data;
    return frame.status === 0 && data && typeof data.code === "string" && typeof data.url === "string"
      && typeof data.svg === "string" && data.svg.startsWith("/pair/") && typeof data.expires === "number";
  }

  function handleFrame(frame) {
    const kind = tetherFrameKind(frame, boxId);
    if (kind === "reply") {
      const what = asked.get(frame.id);
      asked.delete(frame.id);
      if (tokenMode && isCode(frame)) return showCode(frame.data);
      if (what && what.command === "pairingCode") {
        // Rate limited (status 6) clears within seconds; anything else is not worth asking often.
        $("pair-url").textContent = "No pairing code (" + frame.message + "); asking again soon.";
        clearTimeout(codeTimer);
        codeTimer = setTimeout(askForCode, frame.status === 6 ? 3000 : 30000);
        return;
      }
      if (what && what.command === "unpair") {
        if (frame.status === 0) forget(what.phone);
        else $("status").textContent = "Could not remove " + what.phone + ": " + frame.message;
        return;
      }
      // Answers to our status queries refresh what we know of the phones.
      if (frame.status === 0 && frame.data) {
        for (const [id, state] of Object.entries(frame.data)) if (phones.has(id)) phones.set(id, state);
        renderPhones();
      }
      return;
    }
    if (kind === "server") {
      // A phone redeemed our code: list it, and show a fresh code (that one is spent).
      if (frame.msg === "paired" && frame.data && tetherValidId(frame.data.phone)) {
        remember(frame.data.phone);
        if (tokenMode) askForCode();  // open mode has no codes (the server answers status 2)
      }
      return;
    }
    if (kind === "presence") {
      if (phones.has(frame.from)) {
        phones.set(frame.from, frame.msg);
        renderPhones();
      }
      return;
    }
    if (kind !== "message") return;
    remember(frame.from);
    if (frame.msg && frame.msg.type === "pair") link.send(frame.from, { type: "paired", box: boxId });
    showMessage(frame.from, frame.msg);
  }

  function remember(phoneId) {
    const newest = Array.from(phones.keys()).pop();
    if (newest === phoneId && phones.get(phoneId) === "online") return;  // the usual press: nothing changes
    phones.delete(phoneId);
    phones.set(phoneId, "online");  // newest last
    while (phones.size > maxPhones) phones.delete(phones.keys().next().value);
    savePhones();
    renderPhones();
  }

  function forget(phoneId) {
    phones.delete(phoneId);
    savePhones();
    renderPhones();
  }

  function unpair(phoneId) {
    if (!ask("unpair", { command: "unpair", phone: phoneId }, { data: [phoneId] })) {
      $("status").textContent = "Not connected; " + phoneId + " was not removed.";
    }
  }

  function savePhones() {
    tetherStorageSet(phonesKey, JSON.stringify(Array.from(phones.keys())));  // else memory only
  }

  function loadPhones() {
    try {
      const saved = JSON.parse(localStorage.getItem(phonesKey) || "[]");
      return Array.isArray(saved) ? saved.filter(tetherValidId).slice(-maxPhones) : [];
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
