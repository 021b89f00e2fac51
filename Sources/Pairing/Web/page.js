// What both pages keep in the browser: their ids and tokens in localStorage (which may be disabled
// or full), and the server's auth mode.
import { authMode, validId } from "/tether-client.js";

export function storageGet(key) {
  try { return localStorage.getItem(key); } catch (e) { return null; }
}

// False when storage is disabled or full.
export function storageSet(key, value) {
  try { localStorage.setItem(key, value); return true; } catch (e) { return false; }
}

// A stored id, or a new random one with the given prefix, kept in localStorage.
export function storedId(key, prefix) {
  let id = storageGet(key);
  if (!validId(id)) {
    const alphabet = "abcdefghjkmnpqrstuvwxyz23456789";
    const random = new Uint8Array(6);
    crypto.getRandomValues(random);
    id = prefix + Array.from(random, (b) => alphabet[b % alphabet.length]).join("");
    storageSet(key, id);  // else the id lasts for this page only
  }
  return id;
}

// "open" or "token". A busy or unreachable server is asked again, since guessing wrong would
// connect without the token it needs.
export async function serverAuthMode() {
  for (let delayMs = 500; ; delayMs = Math.min(15000, delayMs * 2)) {
    try { return await authMode(); } catch (e) { /* asked again below */ }
    await new Promise((resolve) => setTimeout(resolve, delayMs));
  }
}
