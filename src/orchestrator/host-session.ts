// One host for a whole run: its SSH connection and its started agent, opened
// on first use and reused by every operation and step of the run (one agent
// start per host per run, however many steps).
import {
  openHost,
  type AgentClient,
  type AgentRequestBody,
  type HostSession,
  type HostTimings,
  type ResponseFor,
  type TransportOptions,
  type UnverifiedHostKey,
} from "../transport/index.js";
import type { ConnectionTarget } from "../shared/connection-target.js";

export interface HostSessionOptions {
  /** The agent bundle to push (dist/agent.cjs). */
  agentBundle: string;
  /** Shared by every host of the run (one KeyStore: each key decrypted once). */
  transport: TransportOptions;
  /** Awaited right before each request leaves for the host (the run's journal reaching the disk). */
  beforeRequest?: () => Promise<void>;
}

export interface RequestOptions {
  timeoutMs?: number;
  /** Aborting cancels the request on the host (protocol 2 cancel). */
  signal?: AbortSignal;
}

export class RunHostSession {
  private connecting: Promise<HostSession> | undefined;
  private starting: Promise<AgentClient> | undefined;
  private closed = false;

  constructor(
    readonly target: ConnectionTarget,
    private readonly o: HostSessionOptions,
  ) {}

  get host(): string {
    return this.target.name;
  }

  /** The SSH session (connected on first call). */
  connection(): Promise<HostSession> {
    if (this.closed) return Promise.reject(new Error(`session to ${this.host} is closed`));
    this.connecting ??= openHost(this.target, this.o.transport);
    return this.connecting;
  }

  /** The started agent (pushed if needed, verified, started once). */
  agent(): Promise<AgentClient> {
    this.starting ??= (async () => {
      const s = await this.connection();
      return s.startAgent(this.o.agentBundle);
    })();
    return this.starting;
  }

  async request<R extends AgentRequestBody>(body: R, opts: RequestOptions = {}): Promise<ResponseFor<R>> {
    const client = await this.agent();
    if (this.o.beforeRequest) await this.o.beforeRequest();
    return client.request(body, opts);
  }

  /** Where this host's time went so far (undefined until connected). */
  async timings(): Promise<HostTimings | undefined> {
    const s = await this.connecting?.catch(() => undefined);
    return s?.timings();
  }

  /** The host's key, when it was accepted unverified (host key checking off). */
  async unverifiedHostKey(): Promise<UnverifiedHostKey | undefined> {
    const s = await this.connecting?.catch(() => undefined);
    return s?.connection.unverifiedHostKey;
  }

  /** Stop the agent and close the connection; safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const client = await this.starting?.catch(() => undefined);
    await client?.close().catch(() => undefined);
    const s = await this.connecting?.catch(() => undefined);
    await s?.close().catch(() => undefined);
  }
}

/** The run's sessions, one per host, created on first use. */
export class SessionPool {
  private readonly sessions = new Map<string, RunHostSession>();
  private readonly released = new Map<string, { timings?: HostTimings; hostKey?: UnverifiedHostKey }>();

  constructor(
    private readonly targets: ReadonlyMap<string, ConnectionTarget>,
    private readonly o: HostSessionOptions,
  ) {}

  get(host: string): RunHostSession {
    let s = this.sessions.get(host);
    if (!s) {
      const target = this.targets.get(host);
      if (!target) throw new Error(`no connection settings for host ${host}`);
      s = new RunHostSession(target, this.o);
      this.sessions.set(host, s);
    }
    return s;
  }

  /** Close one host's session (its work in this run is over). */
  async release(host: string): Promise<void> {
    const s = this.sessions.get(host);
    this.sessions.delete(host);
    await s?.close();
    // Only the figures are kept: a released session's connection objects go.
    if (!s) return;
    const [timings, hostKey] = [await s.timings(), await s.unverifiedHostKey()];
    this.released.set(host, { ...(timings ? { timings } : {}), ...(hostKey ? { hostKey } : {}) });
  }

  /** A host's timings so far, also after its session was released (for the run document). */
  async timings(host: string): Promise<HostTimings | undefined> {
    return (await this.sessions.get(host)?.timings()) ?? this.released.get(host)?.timings;
  }

  /** The host's key when accepted unverified, also after its session was released. */
  async unverifiedHostKey(host: string): Promise<UnverifiedHostKey | undefined> {
    return (await this.sessions.get(host)?.unverifiedHostKey()) ?? this.released.get(host)?.hostKey;
  }

  async closeAll(): Promise<void> {
    const all = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.allSettled(all.map((s) => s.close()));
  }
}
