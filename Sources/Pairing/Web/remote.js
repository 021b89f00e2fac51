"use strict";
// The phone page the QR code opens: a remote control for one box.

(function () {
  const $ = (id) => document.getElementById(id);
  const boxId = new URLSearchParams(location.search).get("box");
  const phoneId = tetherStoredId("tether.phone.id", "phone-");
  $("phone-id").textContent = phoneId;

  if (!tetherValidId(boxId)) {
    setBanner("unknown", boxId ? "That box id is not valid. Check the TV." : "Which box? Scan its QR code or type its id.");
    $("choose-box").hidden = false;
    $("choose-box").addEventListener("submit", (event) => {
      event.preventDefault();
      location.search = "?box=" + encodeURIComponent($("box-input").value.trim());
    });
    $("link-state").textContent = "not connected";
    return;
  }

  let boxOnline = null;  // unknown until the server answers
  const link = new TetherLink({
    deviceId: phoneId,
    watched: () => [boxId],
    onState: showState,
    onFrame: handleFrame,
  });
  link.open();
  $("controls").hidden = false;

  for (const button of document.querySelectorAll("[data-key]")) {
    button.addEventListener("click", () => send({ type: "key", key: button.dataset.key }, button.dataset.key));
  }
  $("say").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("text").value;
    if (text.trim() && send({ type: "text", text: text }, "your text")) $("text").value = "";
  });

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
      waiting: "connection lost, retrying in " + state.seconds + " s",
    };
    $("link-state").textContent = words[state.phase];
    if (state.phase !== "open") {
      boxOnline = null;
      setBanner("unknown", state.phase === "replaced" ? "Opened in another tab." : "Connecting to the server…");
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
