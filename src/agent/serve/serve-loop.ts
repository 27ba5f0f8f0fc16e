// The protocol-2 serve loop, independent of Postfix and of the process: NDJSON
// requests from `input`, one answer line each on `output`, a hello line
// first. Lines are read while requests run; requests other than `cancel` run
// one at a time in arrival order; `cancel` is answered at once and aborts its
// target (a queued one answers "cancelled" without running). `lock` holds the
// host lock across requests until `unlock`, `shutdown`, the end of input or
// stop(); meanwhile this agent's own requests do not wait for it. From the
// controller's first heartbeat on, the session is watched: the end of input,
// or input silent past the heartbeat's deadline, means the controller is gone,
// and every request is cancelled (as by `cancel`) before the loop ends and
// releases the lock; an unwatched session finishes its requests at the end of
// its input.
import { createInterface } from "node:readline";
import type { Readable, Writable } from "node:stream";
import {
  HEARTBEAT_DEADLINE_MIN_MS,
  KILL_GRACE_MS,
  PROTOCOL_VERSION,
  type AgentError,
  type AgentRequest,
  type AgentResponse,
  type ConfigRequest,
  type ConfigResponse,
  type DriftFactsRequest,
  type ProbeRequest,
  type ProbeResponse,
  type QueueRequest,
  type QueueResponse,
  type RevertRequest,
  type RevertResponse,
  type DriftFactsResponse,
  type FactsRequest,
  type FactsResponse,
  type HealthRequest,
  type PersistRequest,
  type PersistResponse,
  type HealthResponse,
  type HelloResponse,
  type PostmultiRequest,
  type PostmultiResponse,
  type ServiceRequest,
  type ServiceResponse,
} from "../../protocol/index.js";
import { asCancelled, errorResponseFor } from "./error-responses.js";
import { acquireLock, withLock, type HeldLock } from "../system/host-lock.js";
import { agentError } from "../postmulti/messages.js";
import type { RequestContext } from "./request-context.js";
import type { Env } from "../system/process.js";
import { AGENT_VERSION } from "../version.js";

/** What the loop dispatches to; everything else (cancel, lock, unlock, shutdown) is the loop's own. */
export interface RequestHandlers {
  postmulti(req: PostmultiRequest, ctx: RequestContext): Promise<PostmultiResponse>;
  facts(req: FactsRequest, ctx: RequestContext): Promise<FactsResponse>;
  config(req: ConfigRequest, ctx: RequestContext): Promise<ConfigResponse>;
  health(req: HealthRequest, ctx: RequestContext): Promise<HealthResponse>;
  service(req: ServiceRequest, ctx: RequestContext): Promise<ServiceResponse>;
  "drift-facts"(req: DriftFactsRequest, ctx: RequestContext): Promise<DriftFactsResponse>;
  probe(req: ProbeRequest, ctx: RequestContext): Promise<ProbeResponse>;
  queue(req: QueueRequest, ctx: RequestContext): Promise<QueueResponse>;
  revert(req: RevertRequest, ctx: RequestContext): Promise<RevertResponse>;
  /** Only where an agent can hand over to a resident one (the agent started by the loader). */
  persist?(req: PersistRequest): PersistResponse;
}

export interface ServeLoopOptions {
  handlers: RequestHandlers;
  input: Readable;
  output: Writable;
  env: Env;
  /** Lock wait for requests that give none. */
  lockTimeoutMs: number;
  /** Lock directory (default: host-lock.ts's lockDirectory()). */
  lockDir?: string;
  /** withHostLock takes the lock for one request when no `lock` request holds it (default: when root). */
  lockPerRequest?: boolean;
  /** The hello line's uid (default: the effective uid). */
  uid?: number;
  /** Say in the hello line that this is a resident agent. */
  resident?: boolean;
  /** More fields of the hello line (the code cache's state). */
  hello?: Pick<HelloResponse, "codeCache" | "codeCacheReason">;
  /** Called once, right after the first answer to a request was written. */
  afterFirstAnswer?: () => void;
}

/** "silent": the controller's heartbeats stopped past their deadline (its end of input never came). */
export type ServeEnd = "shutdown" | "eof" | "silent" | "stopped" | "output-closed";

export interface ServeLoop {
  /** Settles when the loop has ended; the lock is released by then. */
  done: Promise<ServeEnd>;
  /** Abort every request, answer nothing more, release the lock (fatal signal). */
  stop(reason: string): void;
  /** Resolves when no request is running (after stop(): once the aborted one has killed its command). */
  idle(): Promise<void>;
  /** The lock a `lock` request holds now. */
  heldLock(): (HeldLock & { holder: string }) | null;
}

interface Entry {
  req: AgentRequest;
  controller: AbortController;
}

const usage = (message: string): AgentError => ({ message, code: "usage" });

/** After the heartbeat deadline, how long the loop waits for input already on its way before it gives the controller up. */
const SECOND_LOOK_MS = 1000;

/** Reject what the loop cannot dispatch; the handlers check their own fields further. */
function invalid(req: AgentRequest): string | null {
  switch (req.op) {
    case "postmulti":
      return Array.isArray(req.args) && req.args.every((a) => typeof a === "string") ? null : "postmulti request needs args: string[]";
    case "cancel":
      return typeof req.target === "number" ? null : "cancel request needs target: number";
    case "lock":
      return typeof req.holder === "string" ? null : "lock request needs holder: string";
    case "config":
    case "health":
    case "service":
    case "probe":
    case "queue":
    case "revert":
      return typeof req.instance === "string" ? null : `${req.op} request needs instance: string`;
    case "persist":
      return typeof req.secret === "string" && /^[0-9a-f]{64}$/.test(req.secret) && Number.isInteger(req.idleMs) && req.idleMs > 0 && req.idleMs <= 86_400_000
        ? null
        : "persist request needs secret: 64 hex digits and idleMs: 1..86400000";
    case "facts":
    case "drift-facts":
    case "unlock":
    case "shutdown":
      return null;
    default:
      return `unknown op: ${String((req as { op?: unknown }).op)}`;
  }
}

export function createServeLoop(o: ServeLoopOptions): ServeLoop {
  const lockPerRequest = o.lockPerRequest ?? (process.geteuid?.() ?? 0) === 0;
  const queue: Entry[] = [];
  let running: Entry | null = null;
  let idleWaiters: Array<() => void> = [];
  let hostLock: (HeldLock & { holder: string }) | null = null;
  let inputEnded = false;
  /** How the loop ends once the queue is empty after the input ended. */
  let endAs: ServeEnd = "eof";
  let ended = false;
  // The controller's watch (heartbeats): its deadline, once the first heartbeat came.
  let deadlineMs = 0;
  let silenceTimer: NodeJS.Timeout | undefined;
  let inputSeq = 0;
  let resolveDone!: (end: ServeEnd) => void;
  const done = new Promise<ServeEnd>((r) => (resolveDone = r));

  const rl = createInterface({ input: o.input, crlfDelay: Infinity, terminal: false });

  const finish = (end: ServeEnd) => {
    if (ended) return;
    ended = true;
    clearTimeout(silenceTimer);
    rl.close();
    hostLock?.release();
    hostLock = null;
    resolveDone(end);
  };

  let firstAnswer = o.afterFirstAnswer;
  const send = (r: AgentResponse) => {
    if (ended) return;
    o.output.write(JSON.stringify(r) + "\n");
    if (firstAnswer && r.id !== 0) {
      firstAnswer();
      firstAnswer = undefined;
    }
  };
  o.output.on("error", () => stop("output closed", "output-closed"));

  const stop = (reason: string, end: ServeEnd = "stopped") => {
    if (ended) return;
    for (const e of [...queue, ...(running ? [running] : [])]) e.controller.abort(reason);
    queue.length = 0;
    finish(end);
  };

  const context = (e: Entry): RequestContext => {
    const req = e.req as { timeoutMs?: number; lockTimeoutMs?: number };
    const lockTimeoutMs = typeof req.lockTimeoutMs === "number" ? req.lockTimeoutMs : o.lockTimeoutMs;
    return {
      env: o.env,
      signal: e.controller.signal,
      timeoutMs: typeof req.timeoutMs === "number" ? req.timeoutMs : undefined,
      lockTimeoutMs,
      withHostLock: (what, body) => {
        if (hostLock || !lockPerRequest) return body();
        return withLock(what, lockTimeoutMs, body, { dir: o.lockDir, signal: e.controller.signal });
      },
    };
  };

  const execute = async (e: Entry): Promise<AgentResponse> => {
    const req = e.req;
    const bad = invalid(req);
    if (bad) return { id: req.id, op: "error", error: usage(bad) };
    const ctx = context(e);
    switch (req.op) {
      case "postmulti":
        return o.handlers.postmulti(req, ctx);
      case "facts":
        return o.handlers.facts(req, ctx);
      case "config":
        return o.handlers.config(req, ctx);
      case "health":
        return o.handlers.health(req, ctx);
      case "service":
        return o.handlers.service(req, ctx);
      case "drift-facts":
        return o.handlers["drift-facts"](req, ctx);
      case "probe":
        return o.handlers.probe(req, ctx);
      case "queue":
        return o.handlers.queue(req, ctx);
      case "revert":
        return o.handlers.revert(req, ctx);
      case "persist":
        if (!o.handlers.persist) return { id: req.id, op: "error", error: usage("persist is not available here (this agent is already resident)") };
        return o.handlers.persist(req);
      case "lock": {
        if (!hostLock) {
          const timeout = typeof req.timeoutMs === "number" ? req.timeoutMs : o.lockTimeoutMs;
          const lock = await acquireLock(req.holder, timeout, { dir: o.lockDir, signal: e.controller.signal });
          hostLock = Object.assign(lock, { holder: req.holder });
        }
        return { id: req.id, op: "lock", path: hostLock.path, holder: hostLock.holder };
      }
      case "unlock": {
        const released = hostLock !== null;
        hostLock?.release();
        hostLock = null;
        return { id: req.id, op: "unlock", released };
      }
      case "shutdown":
        hostLock?.release();
        hostLock = null;
        return { id: req.id, op: "shutdown" };
      default:
        return { id: req.id, op: "error", error: usage("unknown op") };
    }
  };

  const pump = async () => {
    while (!running && !ended) {
      const next = queue.shift();
      if (!next) {
        if (inputEnded) finish(endAs);
        return;
      }
      running = next;
      const { signal } = next.controller;
      let res: AgentResponse;
      try {
        res = await execute(next);
      } catch (err) {
        res = errorResponseFor(next.req, signal.aborted ? cancelledError(signal) : agentError(err));
      }
      if (signal.aborted) res = asCancelled(res, cancelledError(signal));
      running = null;
      for (const w of idleWaiters) w();
      idleWaiters = [];
      send(res);
      if (next.req.op === "shutdown") finish("shutdown");
    }
  };

  const cancel = (id: number, target: number) => {
    const queued = queue.findIndex((e) => e.req.id === target);
    if (queued >= 0) {
      const [e] = queue.splice(queued, 1);
      send({ id, op: "cancel", target, found: true });
      const reason = `cancelled by request ${id} before it started`;
      e!.controller.abort(reason);
      send(errorResponseFor(e!.req, { message: reason, code: "cancelled" }));
    } else if (running && running.req.id === target) {
      running.controller.abort(`cancelled by request ${id}`);
      send({ id, op: "cancel", target, found: true });
    } else send({ id, op: "cancel", target, found: false });
  };

  /**
   * The controller is gone (its input ended, or went silent, in a watched session): cancel
   * every request as `cancel` does, then end once the running one has answered (its command
   * killed), bounded in case a handler ignores its signal.
   */
  const controllerGone = (reason: string, end: ServeEnd) => {
    if (ended || inputEnded) return;
    inputEnded = true;
    endAs = end;
    clearTimeout(silenceTimer);
    for (const e of queue.splice(0)) {
      e.controller.abort(reason);
      send(errorResponseFor(e.req, { message: reason, code: "cancelled" }));
    }
    if (!running) return finish(end);
    running.controller.abort(reason);
    setTimeout(() => finish(end), KILL_GRACE_MS + 2000).unref();
  };

  /**
   * (Re)start the silence clock. When it runs out, a second look a little later: a host frozen
   * (docker pause, a VM stall) wakes with its timers expired and the controller's heartbeats
   * still in sshd's buffers, and they must be read before the controller is given up.
   */
  const watch = () => {
    clearTimeout(silenceTimer);
    if (!deadlineMs || ended || inputEnded) return;
    const seq = inputSeq;
    silenceTimer = setTimeout(() => {
      silenceTimer = setTimeout(
        () => seq === inputSeq && controllerGone(`no word from the controller for ${deadlineMs / 1000} s: it is gone`, "silent"),
        SECOND_LOOK_MS,
      );
    }, deadlineMs);
  };

  rl.on("line", (line) => {
    if (ended || inputEnded) return;
    inputSeq++;
    if (deadlineMs) watch();
    if (line.trim() === "") return;
    let req: AgentRequest;
    try {
      req = JSON.parse(line) as AgentRequest;
      if (isHeartbeat(req)) {
        const d = (req as { deadlineMs?: unknown }).deadlineMs;
        if (!Number.isInteger(d) || (d as number) < HEARTBEAT_DEADLINE_MIN_MS || (d as number) > 86_400_000)
          throw new Error(`heartbeat needs deadlineMs: ${HEARTBEAT_DEADLINE_MIN_MS}..86400000`);
        deadlineMs = d as number;
        watch();
        return;
      }
      if (typeof req !== "object" || req === null || typeof req.id !== "number") throw new Error("request must be an object with a numeric id");
    } catch (err) {
      send({ id: 0, op: "error", error: usage(`bad request line: ${(err as Error).message}`) });
      return;
    }
    if (req.op === "cancel") {
      const bad = invalid(req);
      if (bad) send({ id: req.id, op: "error", error: usage(bad) });
      else cancel(req.id, req.target);
      return;
    }
    queue.push({ req, controller: new AbortController() });
    void pump();
  });
  rl.on("close", () => {
    if (deadlineMs) return controllerGone("the controller's input ended: it is gone", "eof");
    inputEnded = true;
    if (!running) void pump();
  });

  send({ id: 0, op: "hello", protocol: PROTOCOL_VERSION, agentVersion: AGENT_VERSION, nodeVersion: process.versions.node, uid: o.uid ?? process.geteuid?.() ?? -1, ...(o.resident ? { resident: true } : {}), ...o.hello });

  return {
    done,
    stop: (reason) => stop(reason),
    idle: () => (running ? new Promise<void>((r) => idleWaiters.push(r)) : Promise.resolve()),
    heldLock: () => hostLock,
  };
}

function isHeartbeat(line: unknown): boolean {
  return typeof line === "object" && line !== null && (line as { op?: unknown }).op === "heartbeat";
}

function cancelledError(signal: AbortSignal): AgentError {
  return { message: typeof signal.reason === "string" ? signal.reason : "cancelled", code: "cancelled" };
}
