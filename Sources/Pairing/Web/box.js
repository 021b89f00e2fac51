"use strict";
// The set-top box page: shows its pairing QR code, the phones paired with it and what they send.

(function () {
  const params = new URLSearchParams(location.search);
  const pinned = params.get("id");
  const boxId = tetherValidId(pinned) ? pinned : tetherStoredId("tether.box.id", "box-");
  const phonesKey = "tether.box.phones." + boxId;
  const maxPhones = 20;
  const maxMessages = 50;
  const phones = new Map(loadPhones().map((id) => [id, "unknown"]));
  const $ = (id) => document.getElementById(id);

  $("box-id").textContent = boxId;
  $("qr").src = "/pair/" + encodeURIComponent(boxId) + ".svg";
  fetch("/pair/" + encodeURIComponent(boxId) + ".json")
    .then((response) => response.json())
    .then((answer) => { if (answer.data && answer.data.url) $("pair-url").textContent = answer.data.url; })
    .catch(() => {});

  const link = new TetherLink({
    deviceId: boxId,
    watched: () => Array.from(phones.keys()),
    onState: showState,
    onFrame: handleFrame,
  });
  link.open();
  renderPhones();

  function showState(state) {
    const status = $("status");
    status.className = "status " + state.phase;
    switch (state.phase) {
      case "connecting": status.textContent = "Connecting to the server…"; break;
      case "open": status.textContent = "Connected."; break;
      case "replaced": status.textContent = "This box id was opened on another screen; this one has stopped."; break;
      case "waiting": status.textContent = "Connection lost. Reconnecting in " + state.seconds + " s…"; break;
    }
  }

  function handleFrame(frame) {
    const kind = tetherFrameKind(frame, boxId);
    if (kind === "reply") {
      // Answers to our status queries refresh what we know of the phones.
      if (frame.status === 0 && frame.data) {
        for (const [id, state] of Object.entries(frame.data)) if (phones.has(id)) phones.set(id, state);
        renderPhones();
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
    try { localStorage.setItem(phonesKey, JSON.stringify(Array.from(phones.keys()))); } catch (e) { /* memory only */ }
    renderPhones();
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
