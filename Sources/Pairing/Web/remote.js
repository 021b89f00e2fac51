"use strict";
// The phone page the QR code opens: a remote control for one box. In token mode the QR code also
// carries a one-time pairing code, which this page trades for a token of its own (POST /pair).

(async function () {
  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(location.search);
  let boxId = params.get("box");

  if (!tetherValidId(boxId)) {
    $("phone-id").textContent = tetherStoredId("tether.phone.id", "phone-");
    setBanner("unknown", boxId ? "That box id is not valid. Check the TV." : "Which box? Scan its QR code or type its id.");
    $("choose-box").hidden = false;
    $("choose-box").addEventListener("submit", (event) => {
      event.preventDefault();
      location.search = "?box=" + encodeURIComponent($("box-input").value.trim());
    });
    $("link-state").textContent = "not connected";
    return;
  }

  const tokenMode = (await tetherAuthMode()) === "token";
  let phoneId = null;
  let token = null;
  let problem = null;  // why a pairing code did not work, shown once we know whether we connect
  if (!tokenMode) {
    phoneId = tetherStoredId("tether.phone.id", "phone-");
  } else {
    token = tetherStorageGet("tether.phone.token") || null;
    phoneId = storedPhoneId(token);
    if (!phoneId) token = null;
    const code = params.get("code");
    if (code) {
      setBanner("unknown", "Pairing with the box…");
      const pairing = await redeem(code, token);
      if (pairing.token) {
        token = pairing.token;
        phoneId = pairing.phone;
        if (tetherValidId(pairing.box)) boxId = pairing.box;
        tetherStorageSet("tether.phone.token", token);
        tetherStorageSet("tether.phone.id", phoneId);
      } else {
        problem = pairing.problem;
      }
      // A spent or refused code stays out of the address, so a reload does not send it again.
      if (!pairing.retry) {
        params.delete("code");
        params.set("box", boxId);
        history.replaceState(null, "", location.pathname + "?" + params + location.hash);
      }
    }
    if (!token) {
      $("phone-id").textContent = "not paired";
      setBanner("unknown", problem || "Not paired yet: scan the code on the TV.");
      $("link-state").textContent = "not connected";
      return;
    }
  }
  $("phone-id").textContent = phoneId;

  let boxOnline = null;  // unknown until the server answers
  const link = new TetherLink({
    deviceId: phoneId,
    token: token,
    watched: () => [boxId],
    onState: showState,
    onFrame: handleFrame,
  });
  link.open();
  $("controls").hidden = false;
  if (problem) notice(problem, true);

  for (const button of document.querySelectorAll("[data-key]")) {
    button.addEventListener("click", () => send({ type: "key", key: button.dataset.key }, button.dataset.key));
  }
  $("say").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("text").value;
    if (text.trim() && send({ type: "text", text: text }, "your text")) $("text").value = "";
  });

  // The id that goes with a stored token: the one stored with it, else the token's own "sub".
  function storedPhoneId(storedToken) {
    if (!storedToken) return null;
    const stored = tetherStorageGet("tether.phone.id");
    return tetherValidId(stored) ? stored : tetherTokenSubject(storedToken);
  }

  // Trades a pairing code (and our token, so we keep our id) for {token, phone, box}, or says
  // {problem} in words; retry is set when the server could not be asked at all.
  async function redeem(code, ownToken) {
    let response, answer;
    const body = ownToken ? { code: code, token: ownToken } : { code: code };
    for (let attempt = 1; ; attempt++) {
      try {
        response = await fetch("/pair", {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify(body),
          cache: "no-store",
        });
        answer = await response.json();
      } catch (e) {
        return { problem: "Could not reach the server to pair; reload to try again.", retry: true };
      }
      // Pairing is rate limited per address (a household shares one): wait and ask again.
      if (response.status !== 429 || attempt === 3) break;
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
    if (response.status === 429) return { problem: "Too many pairing attempts; wait a moment and reload.", retry: true };
    const data = (answer && answer.data) || {};
    if (response.ok && answer.status === 0 && typeof data.token === "string" && tetherValidId(data.device_id)) {
      return { token: data.token, phone: data.device_id, box: data.box };
    }
    const words = {
      used: "This pairing code was already used: scan the TV's code again",
      expired: "This pairing code has expired: scan the TV's code again",
      unknown: "This pairing code is not known: scan the TV's code again",
    };
    return { problem: words[data.reason] || "Pairing failed: " + ((answer && answer.message) || "the server answered " + response.status) };
  }

  function send(msg, what) {
    if (!link.send(boxId, msg)) {
      notice("Not connected to the server yet; " + what + " was not sent.", true);
      return false;
    }
    notice("Sent " + what + ".", false);
    return true;
  }

  function showState(state) {
    const words = {
      connecting: "connecting",
      open: "connected",
      replaced: "this phone id was opened in another tab; this one has stopped",
      disconnected: "disconnected by the operator; stopped",
      expired: "pairing expired; stopped",
      waiting: "connection lost, retrying in " + state.seconds + " s",
    };
    const banners = {
      replaced: "Opened in another tab.",
      disconnected: "Disconnected by the operator.",
      expired: "Pairing expired: scan the TV's code again",
    };
    $("link-state").textContent = words[state.phase];
    if (state.phase !== "open") {
      boxOnline = null;
      setBanner("unknown", banners[state.phase] || "Connecting to the server…");
    }
  }

  function handleFrame(frame) {
    switch (tetherFrameKind(frame, phoneId)) {
      case "reply":
        if (frame.data && typeof frame.data[boxId] === "string") boxIs(frame.data[boxId] === "online", false);
        if (frame.status !== 0) notice(explain(frame), true);
        break;
      case "presence":
        if (frame.from === boxId) boxIs(frame.msg === "online", true);
        break;
      case "message":
        if (frame.from === boxId && frame.msg && frame.msg.type === "paired") notice("Paired with " + boxId + ".", false);
        break;
    }
  }

  function boxIs(online, announced) {
    const wasOnline = boxOnline;
    boxOnline = online;
    if (online) {
      setBanner("online", "box is online");
      if (wasOnline !== true) link.send(boxId, { type: "pair" });
    } else {
      setBanner("offline", announced || wasOnline ? "box went offline" : "box is offline");
    }
  }

  function setBanner(state, text) {
    $("banner").className = "banner " + state;
    $("banner").textContent = text;
  }

  function notice(text, isError) {
    $("notice").textContent = text;
    $("notice").className = isError ? "notice error" : "notice";
  }

  // Server replies in words a person holding a remote understands.
  function explain(reply) {
    switch (reply.status) {
      case 1: return "The box is offline, so that was not delivered.";
      case 2: return "The server could not read that message (" + reply.message + ").";
      case 3: return "The server only takes text messages.";
      case 4: return "Not allowed: " + reply.message + ".";
      case 5: return "The box is busy; try again in a moment.";
      case 6: return "Too many presses at once; slow down.";
      default: return "The server said: " + reply.message;
    }
  }
})();
