// The controller's side of the agent's long-running mode: one
// `node agent.cjs --serve` per host, NDJSON both ways (src/protocol).
// Requests are pipelined; the agent may answer them out of order (protocol 2:
// a `cancel` overtakes what it cancels), so answers are matched by id.
//
// Timeouts and aborts cancel on the agent too: the client sends
// {op:"cancel", target:id} and waits a bounded time (KILL_GRACE_MS + 2 s) for
// the request's own answer, which then carries error.code "cancelled" or
// "timeout" and the results completed so far. That answer is what request()
// resolves with, so the caller can say which instances were done; only when
// none comes does request() reject (OperationTimeoutError, OperationAbortedError).
//
// While a session is open the client sends heartbeats (HeartbeatLine), all
// clients of the process on one shared timer, so that an agent whose
// controller died or sits behind a cut link gives up its work and the host
// lock within the deadline instead of when TCP gives up.
import { StringDecoder } from "node:string_decoder";
import { heartbeatSettings, heartbeatTicker, type HeartbeatSettings } from "./heartbeat.js";
import {
  KILL_GRACE_MS,
  PROTOCOL_VERSION,
  type HeartbeatLine,
  type AgentError,
  type AgentRequest,
  type AgentResponse,
  type CancelResponse,
  type ConfigResponse,
  type DriftFactsResponse,
  type ProbeResponse,
  type QueueResponse,
  type RevertResponse,
  type PersistResponse,
  type FactsResponse,
  type HealthResponse,
  type HelloResponse,
  type LockResponse,
  type PostmultiResponse,
  type ServiceResponse,
  type ShutdownResponse,
  type UnlockResponse,
} from "../protocol/index.js";
import {
  AgentProcessError,
  AgentVersionError,
  OperationAbortedError,
  OperationTimeoutError,
  UnreachableError,
  type TransportError,
} from "./errors.js";
import type { RemoteProcess } from "./remote-process.js";

type WithoutId<T> = T extends unknown ? Omit<T, "id"> : never;

/** Any request of the protocol; the client assigns the id. */
export type AgentRequestBody = WithoutId<AgentRequest>;

/** The answer each op gets (an ErrorResponse is turned into AgentRequestError instead). */
export interface ResponseByOp {
  postmulti: PostmultiResponse;
  facts: FactsResponse;
  shutdown: ShutdownResponse;
  cancel: CancelResponse;
  lock: LockResponse;
  unlock: UnlockResponse;
  config: ConfigResponse;
  health: HealthResponse;
  service: ServiceResponse;
  "drift-facts": DriftFactsResponse;
  persist: PersistResponse;
  probe: ProbeResponse;
  queue: QueueResponse;
  revert: RevertResponse;
}

export type ResponseFor<R> = R extends { op: infer O } ? (O extends keyof ResponseByOp ? ResponseByOp[O] : AgentResponse) : AgentResponse;

/** The agent answered with an ErrorResponse. */
export class AgentRequestError extends AgentProcessError {
  constructor(host: string, readonly agentError: AgentError) {
    super(host, `agent on ${host} refused the request (${agentError.code}): ${agentError.message}`);
  }
}

/** After a cancel, how long to wait for the cancelled request's own answer by default. */
export const CANCEL_ANSWER_WAIT_MS = KILL_GRACE_MS + 2000;

export interface AgentClientOptions {
  /** Default per-request timeout (0: none). */
  requestTimeoutMs?: number;
  /** Time to wait for the hello line (default 30 s). */
  helloTimeoutMs?: number;
  /** After a cancel, time to wait for the request's own answer (default CANCEL_ANSWER_WAIT_MS). */
  cancelAnswerWaitMs?: number;
  /** True once the SSH connection is gone: the agent's end is then reported as UnreachableError. */
  connectionLost?: () => boolean;
  /**
   * Sees each non-JSON stdout line before the hello (the loader's status
   * lines, login banners). An error returned ends the start with it.
   */
  preHelloLine?: (line: string) => Error | undefined;
  /** The stream is a resident agent's socket (no exit status ever comes): say so when it ends. */
  resident?: boolean;
  /** Heartbeats to the agent (default: heartbeatSettings()); false sends none. */
  heartbeat?: HeartbeatSettings | false;
}


/** How an agent's stream ended, in words (a resident agent's socket never has an exit status). */
function endedHow(s: { exitCode: number | null; signal: string | null }, resident: boolean): string {
  if (s.signal) return `killed by signal ${s.signal}`;
  if (s.exitCode !== null) return `exited with code ${s.exitCode}`;
  return resident ? "closed the connection (it was stopped, or exited)" : "ended without an exit status";
}

/** How long one request took, from its sending to its answer (or its failure). */
export interface RequestTiming {
  op: string;
  ms: number;
}

/** At most this many request timings are kept per agent (a long run keeps its first ones). */
const MAX_TIMINGS = 10_000;

export interface RequestOptions {
  /** This request's timeout (0: none); default the client's requestTimeoutMs. On expiry the request is cancelled on the agent. */
  timeoutMs?: number;
  /** Cancel the request on the agent when this aborts (e.g. Ctrl-C). */
  signal?: AbortSignal;
}

interface Pending {
  op: string;
  /** performance.now() when sent. */
  sentAt?: number;
  resolve: (r: AgentResponse) => void;
  reject: (e: Error) => void;
  /** Request timeout, then the wait for the answer after a cancel. */
  timer: NodeJS.Timeout | undefined;
  /** Set once a cancel was sent: why (the error when no answer comes). */
  cancelled?: TransportError;
  /** Detaches the abort listener. */
  cleanup?: () => void;
}

/** One response line may be at most this long (characters); past it the host fails, the rest of the fleet goes on. */
export const MAX_LINE_CHARS = 64 * 1024 * 1024;

export class AgentClient {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  /** The unfinished line, in the pieces it arrived in. */
  private partLine: string[] = [];
  private pendingChars = 0;
  private readonly decoder = new StringDecoder("utf8");
  private dead: TransportError | undefined;
  private helloWaiter: Pending | undefined;
  private stopHeartbeat: (() => void) | undefined;
  /** Set once the hello line arrived. */
  hello!: HelloResponse;
  /** Each request's duration, in the order they ended (shutdown and cancel excluded). */
  readonly timings: RequestTiming[] = [];

  private constructor(
    private readonly host: string,
    private readonly proc: RemoteProcess,
    private readonly o: AgentClientOptions,
  ) {
    proc.stdout.on("data", (d: Buffer) => this.onData(d));
    // Wait for stdout's end too, so every answer printed before the exit is delivered first.
    const stdoutEnded = new Promise((r) => proc.stdout.once("end", r));
    void Promise.all([proc.exited, stdoutEnded]).then(async ([s]) => {
      const tail = proc.stderrTail().trim();
      if (s.exitCode === null && s.signal === null) {
        // No exit status: the channel went away. Let the connection's own close event land first.
        await new Promise((r) => setTimeout(r, 50));
        if (o.connectionLost?.()) {
          this.die(new UnreachableError(host, `connection to ${host} was lost while the agent was running`));
          return;
        }
      }
      const how = endedHow(s, o.resident === true);
      const e = new AgentProcessError(host, `${o.resident ? "resident agent" : "agent"} on ${host} ${how}${tail ? `; stderr: ${tail.slice(-1500)}` : ""}`);
      e.exitStatus = s;
      this.die(e);
    });
  }

  /**
   * Wrap a started agent process and wait for its hello line. A hello with
   * another protocol version: AgentVersionError (the process is killed).
   */
  static async start(host: string, proc: RemoteProcess, o: AgentClientOptions = {}): Promise<AgentClient> {
    const client = new AgentClient(host, proc, o);
    const hello = await new Promise<AgentResponse>((resolve, reject) => {
      const timeoutMs = o.helloTimeoutMs ?? 30_000;
      const timer = setTimeout(() => {
        client.helloWaiter = undefined;
        proc.kill();
        reject(new OperationTimeoutError(host, `agent on ${host} did not say hello within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      client.helloWaiter = { op: "hello", resolve, reject, timer };
      if (client.dead) reject(client.dead);
    });
    if (hello.op !== "hello") {
      proc.kill();
      throw new AgentProcessError(host, `agent on ${host} did not start with a hello line`);
    }
    if (hello.protocol !== PROTOCOL_VERSION) {
      proc.kill();
      throw new AgentVersionError(host, hello.protocol, PROTOCOL_VERSION);
    }
    client.hello = hello;
    try {
      client.startHeartbeat();
    } catch (e) {
      proc.kill();
      throw e;
    }
    return client;
  }

  private startHeartbeat(): void {
    const hb = this.o.heartbeat ?? heartbeatSettings();
    if (hb === false || this.dead) return;
    const ticker = heartbeatTicker(hb.intervalMs);
    const line = `${JSON.stringify({ op: "heartbeat", deadlineMs: hb.deadlineMs } satisfies HeartbeatLine)}\n`;
    this.stopHeartbeat = ticker.add(() => void this.proc.write(line));
  }

  get alive(): boolean {
    return !this.dead;
  }

  /**
   * Send one request; resolves with its response (ErrorResponse →
   * AgentRequestError). On timeout or abort the request is cancelled on the
   * agent, and its own answer (error.code "timeout"/"cancelled", partial
   * results) still resolves this promise when it comes within
   * cancelAnswerWaitMs; otherwise OperationTimeoutError/OperationAbortedError.
   */
  request<R extends AgentRequestBody>(body: R, opts: RequestOptions = {}): Promise<ResponseFor<R>> {
    const cancellable = body.op !== "cancel" && body.op !== "shutdown";
    return this.send(body, opts.timeoutMs ?? this.o.requestTimeoutMs ?? 0, cancellable ? opts.signal : undefined, cancellable) as Promise<ResponseFor<R>>;
  }

  /** Ask the agent to stop, end its stdin, wait briefly, kill if needed. */
  async close(timeoutMs = 5000): Promise<void> {
    if (!this.dead) {
      await this.send({ op: "shutdown" }, timeoutMs, undefined, false).catch(() => undefined);
      this.stopHeartbeat?.();
      this.proc.end();
      const t = new Promise((r) => setTimeout(r, timeoutMs).unref());
      await Promise.race([this.proc.exited, t]);
      if (!this.dead) this.proc.kill();
    }
  }

  private send(body: AgentRequestBody, timeoutMs: number, signal: AbortSignal | undefined, cancellable: boolean): Promise<AgentResponse> {
    if (this.dead) return Promise.reject(this.dead);
    if (signal?.aborted) return Promise.reject(this.abortError(body.op));
    const id = this.nextId++;
    return new Promise<AgentResponse>((resolve, reject) => {
      const p: Pending = { op: body.op, sentAt: performance.now(), resolve, reject, timer: undefined };
      const timedOut = () =>
        new OperationTimeoutError(this.host, `agent request ${body.op} on ${this.host} timed out after ${timeoutMs / 1000} s`);
      if (timeoutMs > 0) {
        p.timer = setTimeout(() => {
          if (cancellable) this.cancel(id, timedOut());
          else this.settle(id)?.reject(timedOut()); // a late answer to this id is dropped
        }, timeoutMs);
      }
      if (signal) {
        const onAbort = () => this.cancel(id, this.abortError(body.op));
        signal.addEventListener("abort", onAbort, { once: true });
        p.cleanup = () => signal.removeEventListener("abort", onAbort);
      }
      this.pending.set(id, p);
      this.proc.write(`${JSON.stringify({ ...body, id })}\n`);
    });
  }

  /** Cancel request `id` on the agent, then wait a bounded time for its own answer. */
  private cancel(id: number, why: TransportError): void {
    const p = this.pending.get(id);
    if (!p || p.cancelled || this.dead) return;
    p.cancelled = why;
    p.cleanup?.();
    clearTimeout(p.timer);
    const waitMs = this.o.cancelAnswerWaitMs ?? CANCEL_ANSWER_WAIT_MS;
    p.timer = setTimeout(() => this.settle(id)?.reject(why), waitMs);
    // The cancel's own answer (found or not) matters to nobody; an old agent's refusal neither.
    this.send({ op: "cancel", target: id }, waitMs, undefined, false).catch(() => undefined);
  }

  private abortError(op: string): OperationAbortedError {
    return new OperationAbortedError(this.host, `agent request ${op} on ${this.host} was aborted`);
  }

  /** Forget request `id` (timers, listeners) and hand back its waiter. */
  private settle(id: number): Pending | undefined {
    const p = this.pending.get(id);
    if (!p) return undefined;
    this.pending.delete(id);
    clearTimeout(p.timer);
    p.cleanup?.();
    if (p.sentAt !== undefined && p.op !== "shutdown" && p.op !== "cancel" && this.timings.length < MAX_TIMINGS) {
      this.timings.push({ op: p.op, ms: Math.round(performance.now() - p.sentAt) });
    }
    return p;
  }

  private onData(d: Buffer): void {
    // A streaming decoder: a character split across two chunks stays whole. Only the new text
    // is searched for a newline; an unfinished line waits as a list of pieces, joined once.
    const text = this.decoder.write(d);
    let start = 0;
    let nl: number;
    while ((nl = text.indexOf("\n", start)) >= 0) {
      const head = this.partLine.length ? this.partLine.join("") : "";
      this.partLine = [];
      this.pendingChars = 0;
      const line = (head + text.slice(start, nl)).trim();
      start = nl + 1;
      if (line) this.onLine(line);
      if (this.dead) return;
    }
    if (start < text.length) {
      this.partLine.push(text.slice(start));
      this.pendingChars += text.length - start;
    }
    if (this.pendingChars > MAX_LINE_CHARS) {
      this.partLine = [];
      this.fatal(`agent on ${this.host} sent a line of more than ${MAX_LINE_CHARS / (1024 * 1024)} MB without its end; giving up on this host`);
    }
  }

  private onLine(line: string): void {
    let msg: AgentResponse;
    try {
      msg = JSON.parse(line) as AgentResponse;
    } catch {
      // Before the hello, stray lines come from the login shell's start-up files (motd, echo in .bashrc)
      // or from the loader that verifies and starts the agent.
      if (this.helloWaiter) {
        const stop = this.o.preHelloLine?.(line);
        if (stop) {
          const w = this.helloWaiter;
          this.helloWaiter = undefined;
          clearTimeout(w.timer);
          this.proc.kill();
          w.reject(stop);
        }
        return;
      }
      this.fatal(`agent on ${this.host} printed a line that is not JSON: ${line.slice(0, 200)}`);
      return;
    }
    if (this.helloWaiter) {
      const w = this.helloWaiter;
      this.helloWaiter = undefined;
      clearTimeout(w.timer);
      w.resolve(msg);
      return;
    }
    const p = this.settle(msg.id);
    if (!p) return; // answer to a request we stopped waiting for
    if (msg.op === "error") p.reject(new AgentRequestError(this.host, msg.error));
    else if (msg.op !== p.op) p.reject(new AgentProcessError(this.host, `agent on ${this.host} answered request ${msg.id} (${p.op}) with ${msg.op}`));
    else p.resolve(msg);
  }

  private fatal(message: string): void {
    this.proc.kill();
    this.die(new AgentProcessError(this.host, message));
  }

  private die(e: TransportError): void {
    if (this.dead) return;
    this.dead = e;
    this.stopHeartbeat?.();
    const waiters = [...this.pending.keys()].map((id) => this.settle(id)!);
    if (this.helloWaiter) waiters.push(this.helloWaiter);
    this.helloWaiter = undefined;
    for (const w of waiters) {
      clearTimeout(w.timer);
      w.reject(e);
    }
  }
}
