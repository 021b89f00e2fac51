// The phone page the QR code opens: a remote control for one box. In token mode the QR code also
// carries a one-time pairing code, which this page trades for a token of its own (POST /pair).
// The link and the pairing call are the client library's.
import { connect, pair, tokenSubject, validId } from "/tether-client.js";
import { serverAuthMode, storageGet, storageSet, storedId } from "/static/page.js";

(async function () {
  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(location.search);
  let boxId = params.get("box");

  if (!validId(boxId)) {
    $("phone-id").textContent = storedId("tether.phone.id", "phone-");
    setBanner("unknown", boxId ? "That box id is not valid. Check the TV." : "Which box? Scan its QR code or type its id.");
    $("choose-box").hidden = false;
    $("choose-box").addEventListener("submit", (event) => {
      event.preventDefault();
      location.search = "?box=" + encodeURIComponent($("box-input").value.trim());
    });
    $("link-state").textContent = "not connected";
    return;
  }

  const tokenMode = (await serverAuthMode()) === "token";
  let phoneId = null;
  let token = null;
  let problem = null;  // why a pairing code did not work, shown once we know whether we connect
  if (!tokenMode) {
    phoneId = storedId("tether.phone.id", "phone-");
  } else {
    token = storageGet("tether.phone.token") || null;
    phoneId = storedPhoneId(token);
    if (!phoneId) token = null;
    const code = params.get("code");
    if (code) {
      setBanner("unknown", "Pairing with the box…");
      const pairing = await redeem(code, token);
      if (pairing.token) {
        token = pairing.token;
        phoneId = pairing.phone;
        if (validId(pairing.box)) boxId = pairing.box;
        storageSet("tether.phone.token", token);
        storageSet("tether.phone.id", phoneId);
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
  const client = connect({ deviceId: phoneId, token: token, watch: [boxId] });
  client.on("state", showState);
  client.on("presence", ({ id, state, announced }) => { if (id === boxId) boxIs(state === "online", announced); });
  client.on("message", ({ from, msg }) => {
    if (from === boxId && msg && msg.type === "paired") notice("Paired with " + boxId + ".", false);
  });
  // Late replies: status 8 (kept for the box) and receipts of delivery need no word.
  client.on("reply", (reply) => { if (reply.status !== 0 && reply.status !== 8) notice(explain(reply), true); });
  // A page kept in the back/forward cache would keep its socket, and the phone would look online.
  addEventListener("pagehide", () => client.close());
  addEventListener("pageshow", (event) => { if (event.persisted) client.open(); });
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
    const stored = storageGet("tether.phone.id");
    return validId(stored) ? stored : tokenSubject(storedToken);
  }

  // Trades a pairing code (and our token, so we keep our id) for {token, phone, box}, or says
  // {problem} in words; retry is set when the server could not be asked at all.
  async function redeem(code, ownToken) {
    for (let attempt = 1; ; attempt++) {
      try {
        const paired = await pair({ code: code, token: ownToken });
        return { token: paired.token, phone: paired.deviceId, box: paired.box };
      } catch (error) {
        if (error.code === "unreachable") return { problem: "Could not reach the server to pair; reload to try again.", retry: true };
        // Pairing is rate limited per address (a household shares one): wait and ask again.
        if (error.httpStatus !== 429) return { problem: pairingProblem(error) };
        if (attempt === 3) return { problem: "Too many pairing attempts; wait a moment and reload.", retry: true };
      }
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  }

  function pairingProblem(error) {
    const words = {
      used: "This pairing code was already used: scan the TV's code again",
      expired: "This pairing code has expired: scan the TV's code again",
      unknown: "This pairing code is not known: scan the TV's code again",
    };
    return words[error.reason] || "Pairing failed: " + error.message;
  }

  // Presses are not queued: a remote whose presses arrive late is worse than one that says no.
  function send(msg, what) {
    if (!client.connected) {
      notice("Not connected to the server yet; " + what + " was not sent.", true);
      return false;
    }
    notice("Sent " + what + ".", false);
    client.send(boxId, msg, { queue: false }).catch((error) => notice(explain(error), true));
    return true;
  }

  function showState(state) {
    const phase = state.phase === "stopped" ? state.reason : state.phase;
    const words = {
      connecting: "connecting",
      open: "connected",
      replaced: "this phone id was opened in another tab; this one has stopped",
      disconnected: "disconnected by the operator; stopped",
      expired: "pairing expired; stopped",
      closed: "not connected",
      waiting: "connection lost, retrying in " + Math.max(1, Math.round((state.delayMs || 0) / 1000)) + " s",
    };
    const banners = {
      replaced: "Opened in another tab.",
      disconnected: "Disconnected by the operator.",
      expired: "Pairing expired: scan the TV's code again",
    };
    $("link-state").textContent = words[phase];
    if (phase !== "open") {
      boxOnline = null;
      setBanner("unknown", banners[phase] || "Connecting to the server…");
    }
  }

  function boxIs(online, announced) {
    const wasOnline = boxOnline;
    boxOnline = online;
    if (online) {
      setBanner("online", "box is online");
      // Kept 30 s if the box drops in the meantime: pairing survives its reconnect.
      if (wasOnline !== true) client.send(boxId, { type: "pair" }, { queue: false, ttl: 30 }).catch(() => {});
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

  // Server replies (and the library's refusals) in words a person holding a remote understands.
  function explain(reply) {
    if (reply.code === "link_lost") return "The connection dropped; that may not have arrived.";
    if (reply.code === "not_connected") return "Not connected to the server; that was not sent.";
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
