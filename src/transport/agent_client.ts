// The controller's side of the agent's long-running mode: one
// `node agent.cjs --serve` per host, NDJSON both ways (src/protocol).
// Requests may be pipelined; responses come in order and are matched by id.
import {
  PROTOCOL_VERSION,
  type AgentError,
  type AgentResponse,
  type FactsRequest,
  type FactsResponse,
  type HelloResponse,
  type PostmultiRequest,
  type PostmultiResponse,
  type ShutdownRequest,
  type ShutdownResponse,
} from "../protocol/index.js";
import { AgentProcessError, OperationTimeoutError, UnreachableError, type TransportError } from "./errors.js";
import type { RemoteProcess } from "./process.js";

type WithoutId<T> = T extends unknown ? Omit<T, "id"> : never;
export type AgentRequestBody = WithoutId<PostmultiRequest | FactsRequest | ShutdownRequest>;
export type ResponseFor<R> = R extends { op: "postmulti" }
  ? PostmultiResponse
  : R extends { op: "facts" }
    ? FactsResponse
    : R extends { op: "shutdown" }
      ? ShutdownResponse
      : AgentResponse;

/** The agent answered with an ErrorResponse. */
export class AgentRequestError extends AgentProcessError {
  constructor(host: string, readonly agentError: AgentError) {
    super(host, `agent on ${host} refused the request (${agentError.code}): ${agentError.message}`);
  }
}

export interface AgentClientOptions {
  /** Default per-request timeout (0: none). */
  requestTimeoutMs?: number;
  /** Time to wait for the hello line (default 30 s). */
  helloTimeoutMs?: number;
  /** True once the SSH connection is gone: the agent's end is then reported as UnreachableError. */
  connectionLost?: () => boolean;
}

interface Pending {
  op: string;
  resolve: (r: AgentResponse) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout | undefined;
}

export class AgentClient {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private buffered = "";
  private dead: TransportError | undefined;
  private helloWaiter: Pending | undefined;
  /** Set once the hello line arrived. */
  hello!: HelloResponse;

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
      const how = s.signal ? `killed by signal ${s.signal}` : s.exitCode === null ? "ended without an exit status" : `exited with code ${s.exitCode}`;
      this.die(new AgentProcessError(host, `agent on ${host} ${how}${tail ? `; stderr: ${tail.slice(-1500)}` : ""}`));
    });
  }

  /** Wrap a started agent process and wait for its hello line. */
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
    if (hello.op !== "hello" || hello.protocol !== PROTOCOL_VERSION) {
      proc.kill();
      throw new AgentProcessError(
        host,
        hello.op !== "hello"
          ? `agent on ${host} did not start with a hello line`
          : `agent on ${host} speaks protocol ${hello.protocol}, this controller speaks ${PROTOCOL_VERSION}; push the matching agent`,
      );
    }
    client.hello = hello;
    return client;
  }

  get alive(): boolean {
    return !this.dead;
  }

  /** Send one request; resolves with its response (ErrorResponse → AgentRequestError). */
  request<R extends AgentRequestBody>(body: R, opts: { timeoutMs?: number } = {}): Promise<ResponseFor<R>> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    const timeoutMs = opts.timeoutMs ?? this.o.requestTimeoutMs ?? 0;
    return new Promise<ResponseFor<R>>((resolve, reject) => {
      const timer =
        timeoutMs > 0
          ? setTimeout(() => {
              // A late answer to this id is dropped; the agent stays usable.
              this.pending.delete(id);
              reject(new OperationTimeoutError(this.host, `agent request ${body.op} on ${this.host} timed out after ${timeoutMs / 1000} s`));
            }, timeoutMs)
          : undefined;
      this.pending.set(id, {
        op: body.op,
        resolve: (r) => resolve(r as ResponseFor<R>),
        reject,
        timer,
      });
      this.proc.write(`${JSON.stringify({ ...body, id })}\n`);
    });
  }

  /** Ask the agent to stop, end its stdin, wait briefly, kill if needed. */
  async close(timeoutMs = 5000): Promise<void> {
    if (!this.dead) {
      await this.request({ op: "shutdown" }, { timeoutMs }).catch(() => undefined);
      this.proc.end();
      const t = new Promise((r) => setTimeout(r, timeoutMs).unref());
      await Promise.race([this.proc.exited, t]);
      if (!this.dead) this.proc.kill();
    }
  }

  private onData(d: Buffer): void {
    this.buffered += d.toString("utf8");
    let nl: number;
    while ((nl = this.buffered.indexOf("\n")) >= 0) {
      const line = this.buffered.slice(0, nl).trim();
      this.buffered = this.buffered.slice(nl + 1);
      if (line) this.onLine(line);
    }
  }

  private onLine(line: string): void {
    let msg: AgentResponse;
    try {
      msg = JSON.parse(line) as AgentResponse;
    } catch {
      // Before the hello, stray lines come from the login shell's start-up files (motd, echo in .bashrc).
      if (this.helloWaiter) return;
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
    const p = this.pending.get(msg.id);
    if (!p) return; // answer to a request that already timed out
    this.pending.delete(msg.id);
    clearTimeout(p.timer);
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
    const waiters = [...this.pending.values(), ...(this.helloWaiter ? [this.helloWaiter] : [])];
    this.pending.clear();
    this.helloWaiter = undefined;
    for (const w of waiters) {
      clearTimeout(w.timer);
      w.reject(e);
    }
  }
}
