// Types of tether-client.js. The wire contract is docs/protocol.md in the Tether repository.

export type DeviceState = "online" | "offline" | "unknown";

/** Reconnect delays: attempt n waits a random time in [0, min(capMs, baseMs * 2^n)). */
export interface Backoff {
  baseMs: number;
  capMs: number;
}

export declare const DEFAULT_BACKOFF: Readonly<Backoff>;
export declare const STABLE_AFTER_MS: number;
export declare const DEFAULT_REPLY_WINDOW_MS: number;
export declare const DEFAULT_QUEUE_LIMIT: number;
export declare const DEFAULT_PROBE_MS: number;
export declare const COMMAND_TIMEOUT_MS: number;
export declare const DEFAULT_CONNECT_TIMEOUT_MS: number;

export type TetherErrorCode =
  | "offline"        // status 1: target offline, or not delivered because its connection ended
  | "malformed"      // status 2
  | "binary"         // status 3
  | "forbidden"      // status 4: not paired, "from" not ours, broadcast refused
  | "busy"           // status 5: retry later
  | "rate_limited"   // status 6
  | "status"         // any other non-zero status
  | "queue_full"
  | "not_connected"
  | "link_lost"      // the link dropped inside the reply window: delivery unknown
  | "closed"
  | "timeout"        // a server command got no answer
  | "pair_failed"
  | "unreachable"
  | "http";

export declare class TetherError extends Error {
  readonly name: "TetherError";
  readonly code: TetherErrorCode;
  /** The reply's status (1-7), or the pairing answer's; null for local refusals. */
  readonly status: number | null;
  /** The id the message was sent with (the `id` member on the wire). */
  readonly id: number | null;
  readonly data: unknown;
  readonly httpStatus: number | null;
  /** pair(): "used", "unknown" or "expired". */
  readonly reason: string | null;
  static fromReply(reply: Reply): TetherError;
}

/** A server reply: the only frames without a "from" member. */
export interface Reply {
  status: number;
  message: string;
  data: Record<string, unknown>;
  id?: number;
}

export type FrameKind = "reply" | "presence" | "message" | "server" | "ignore";

export interface Pairing {
  deviceId: string;
  token: string;
  box: string;
  expires: number;
}

/** What the constructor needs of a WebSocket class (the browser's, or Node's ws package). */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}
export type WebSocketClass = new (url: string) => WebSocketLike;

export interface ConnectOptions {
  /** ws:, wss:, http: or https: address of the server; in a page, defaults to the page's own. */
  url?: string;
  deviceId: string;
  /** Token mode: the device's JWT. */
  token?: string | null;
  /** Ids whose presence to keep in `presence`. */
  watch?: string[];
  /** Defaults to globalThis.WebSocket (browsers); in Node 20 pass the ws package's class. */
  WebSocket?: WebSocketClass;
  fetch?: typeof fetch;
  backoff?: Partial<Backoff>;
  replyWindowMs?: number;
  queueLimit?: number;
  probeMs?: number;
  connectTimeoutMs?: number;
  /** For tests: the source of jitter, returning [0, 1). */
  random?: () => number;
}

export type StopReason = "replaced" | "disconnected" | "expired";

export type LinkState =
  | { phase: "connecting" }
  | { phase: "open" }
  | { phase: "waiting"; delayMs: number; attempt: number; code: number | null; reason?: string }
  | { phase: "stopped"; reason: StopReason; code: number }
  | { phase: "closed" };

export interface Message {
  /** The sender's id, checked by the server; "server" for the server's own messages. */
  from: string;
  to: string;
  msg: unknown;
  frame: Record<string, unknown>;
}

export interface PresenceEvent {
  id: string;
  state: "online" | "offline";
  previous: DeviceState | undefined;
  /** True for a presence frame, false for an answer to a status query. */
  announced: boolean;
}

export interface TetherEvents {
  state: LinkState;
  stop: { reason: StopReason; code: number };
  message: Message;
  presence: PresenceEvent;
  online: string;
  offline: string;
  reply: Reply;
}

export declare class TetherClient {
  constructor(options: ConnectOptions);
  readonly url: string;
  readonly deviceId: string;
  readonly token: string | null;
  readonly phase: "idle" | LinkState["phase"];
  readonly connected: boolean;
  /** Watched id -> state. Change it with watch() and unwatch(). */
  readonly presence: ReadonlyMap<string, DeviceState>;
  on<K extends keyof TetherEvents>(type: K, listener: (value: TetherEvents[K]) => void): () => void;
  off<K extends keyof TetherEvents>(type: K, listener: (value: TetherEvents[K]) => void): void;
  open(): void;
  close(): void;
  /**
   * Resolves {id} when no error reply came within the reply window, {id, queued: true} when the
   * server kept it for an offline recipient (a `ttl` in seconds asks for that); rejects with a TetherError.
   */
  send(to: string, msg: unknown, options?: { queue?: boolean; ttl?: number }): Promise<{ id: number; queued?: boolean }>;
  command(msg: string, data?: unknown): Promise<Reply>;
  watch(ids: string[]): void;
  unwatch(ids: string[]): void;
  refresh(token: string): Promise<{ expires: number } | null>;
  pair(code: string): Promise<Pairing>;
}

export declare function connect(options: ConnectOptions): TetherClient;
export declare function pair(options: { url?: string; code: string; token?: string | null; fetch?: typeof fetch }): Promise<Pairing>;
export declare function authMode(options?: { url?: string; fetch?: typeof fetch }): Promise<"open" | "token">;
export declare function backoffDelay(attempt: number, options?: Partial<Backoff> & { random?: () => number }): number;
export declare function frameKind(frame: unknown, selfId: string): FrameKind;
export declare function validId(id: unknown): id is string;
export declare function tokenClaims(token: unknown): Record<string, unknown> | null;
export declare function tokenSubject(token: unknown): string | null;
