// The reconnect delay: full jitter under a cap that doubles from 500 ms to 15 s (README.md).
import assert from "node:assert/strict";
import { test } from "node:test";
import { DEFAULT_BACKOFF, backoffDelay } from "../tether-client.js";

const ceiling = (attempt) => Math.min(15000, 500 * 2 ** attempt);

test("defaults are 500 ms doubling to 15 s", () => {
  assert.deepEqual({ ...DEFAULT_BACKOFF }, { baseMs: 500, capMs: 15000 });
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 50].map(ceiling), [500, 1000, 2000, 4000, 8000, 15000, 15000, 15000]);
});

test("every delay lies in [0, min(cap, base * 2^attempt))", () => {
  for (let attempt = 0; attempt < 60; attempt++) {
    for (let i = 0; i < 200; i++) {
      const delay = backoffDelay(attempt);
      assert.ok(Number.isInteger(delay) && delay >= 0 && delay < ceiling(attempt), `attempt ${attempt}: ${delay}`);
    }
  }
});

test("the jitter is full: the extremes of the random source reach both bounds", () => {
  for (const attempt of [0, 3, 10]) {
    assert.equal(backoffDelay(attempt, { random: () => 0 }), 0);
    assert.equal(backoffDelay(attempt, { random: () => 1 - Number.EPSILON }), ceiling(attempt) - 1);
  }
});

test("custom bounds are honoured", () => {
  const options = { baseMs: 100, capMs: 1000, random: () => 1 - Number.EPSILON };
  assert.deepEqual([0, 1, 2, 3, 4, 9].map((n) => backoffDelay(n, options)), [99, 199, 399, 799, 999, 999]);
});

test("huge attempt counts do not overflow", () => {
  assert.equal(backoffDelay(1e9, { random: () => 0.5 }), 7500);
});
