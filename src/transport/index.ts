// The transport facade: one HostSession per host for the whole run.
//   const s = await openHost(target, opts);
//   await s.ensureAgent("dist/agent.cjs");   // Node.js check, push by hash, verify
//   const agent = await s.startAgent();     // node agent --serve (through sudo with become)
//   await agent.request({ op: "facts" });
//   await agent.close(); await s.close();
import { AgentClient, type AgentClientOptions } from "./agent_client.js";
import { ensureAgentFile, readBundle, verifiedAgentArgv, type EnsureAgentResult } from "./agent_push.js";
import { bootstrapNode, type BootstrapReport } from "./bootstrap.js";
import { HostConnection, openConnection, type ConnectionOptions } from "./connection.js";
import { AgentProcessError } from "./errors.js";
import { KeyStore } from "./keys.js";
import { requireNode, type NodeInfo } from "./node_detect.js";
import { execRemote, spawnRemote, type BecomeOptions, type ExecResult } from "./process.js";
import type { ConnectionTarget } from "./target.js";

export * from "./errors.js";
export { AgentClient, AgentRequestError, type AgentRequestBody, type ResponseFor, type AgentClientOptions } from "./agent_client.js";
export type { EnsureAgentResult } from "./agent_push.js";
export { PACKAGE_MANAGERS, installSteps, type BootstrapReport, type PackageManager } from "./bootstrap.js";
export { HostConnection, openConnection, type ConnectionOptions } from "./connection.js";
export { KeyStore, PASSPHRASE_ENV, type PassphraseSource } from "./keys.js";
export { fingerprintSha256, hashHostName, knownHostsName, parseKnownHosts, verifyHostKey } from "./known_hosts.js";
export { MIN_NODE_MAJOR, type NodeInfo } from "./node_detect.js";
export type { BecomeOptions, ExecResult, RemoteProcess } from "./process.js";
export { buildCommand, shellQuote, shScript } from "./shell.js";
export { resolveTarget, type HopSettings, type SshConfigOptions } from "./ssh_config.js";
export type { ConnectionTarget, HostKeyChecking } from "./target.js";

export interface TransportOptions extends ConnectionOptions {
  /** Default timeout for each command and each agent request (0/undefined: none). */
  opTimeoutMs?: number;
}

export interface SessionExecOptions {
  /** Run through sudo as the target's becomeUser, with its becomePassword. Default false. */
  become?: boolean;
  timeoutMs?: number;
  stdin?: string | Buffer;
}

export interface AgentOnHost extends EnsureAgentResult {
  node: NodeInfo;
}

export interface HostSession {
  readonly target: ConnectionTarget;
  readonly connection: HostConnection;
  /** Run argv (each element reaches the program verbatim). A non-zero exit is a result, not an error. */
  exec(argv: readonly string[], o?: SessionExecOptions): Promise<ExecResult>;
  /** Node.js ≥ 18 on the host, or NodeMissingError pointing to `postfleet bootstrap`. */
  node(): Promise<NodeInfo>;
  /** Check Node.js, then put the bundle on the host (only when missing or altered) and verify it. */
  ensureAgent(localBundlePath: string): Promise<AgentOnHost>;
  /** Start `node <agent> --serve` (through sudo when target.become); needs ensureAgent() first. */
  startAgent(o?: AgentClientOptions): Promise<AgentClient>;
  /** Install Node.js with the host's package manager if missing or too old. */
  bootstrap(): Promise<BootstrapReport>;
  close(): Promise<void>;
}

function becomeOf(t: ConnectionTarget): BecomeOptions {
  return { ...(t.becomeUser ? { user: t.becomeUser } : {}), ...(t.becomePassword !== undefined ? { password: t.becomePassword } : {}) };
}

class Session implements HostSession {
  private nodeInfo: NodeInfo | undefined;
  private agent: AgentOnHost | undefined;

  constructor(
    readonly target: ConnectionTarget,
    readonly connection: HostConnection,
    private readonly o: TransportOptions,
  ) {}

  exec(argv: readonly string[], o: SessionExecOptions = {}): Promise<ExecResult> {
    return execRemote(this.connection, argv, {
      become: o.become ? becomeOf(this.target) : false,
      timeoutMs: o.timeoutMs ?? this.o.opTimeoutMs,
      ...(o.stdin !== undefined ? { stdin: o.stdin } : {}),
    });
  }

  async node(): Promise<NodeInfo> {
    this.nodeInfo ??= await requireNode(this.connection, this.target.nodePath);
    return this.nodeInfo;
  }

  async ensureAgent(localBundlePath: string): Promise<AgentOnHost> {
    const node = await this.node();
    const r = await ensureAgentFile(this.connection, readBundle(localBundlePath), node.path);
    if (r.replaced) this.o.warn?.(`${this.target.name}: ${r.remotePath} did not match its sha256 and was replaced`);
    this.agent = { ...r, node };
    return this.agent;
  }

  async startAgent(o: AgentClientOptions = {}): Promise<AgentClient> {
    if (!this.agent) throw new AgentProcessError(this.target.name, "startAgent() called before ensureAgent()");
    const { remotePath, sha256, node } = this.agent;
    const proc = await spawnRemote(this.connection, verifiedAgentArgv(remotePath, sha256, node.path, ["--serve"]), {
      become: this.target.become ? becomeOf(this.target) : false,
    });
    return AgentClient.start(this.target.name, proc, {
      requestTimeoutMs: this.o.opTimeoutMs,
      connectionLost: () => !this.connection.isOpen,
      ...o,
    });
  }

  async bootstrap(): Promise<BootstrapReport> {
    const report = await bootstrapNode(this.connection, { nodePath: this.target.nodePath, become: becomeOf(this.target) });
    this.nodeInfo = undefined;
    return report;
  }

  close(): Promise<void> {
    return this.connection.close();
  }
}

/** Connect to one host; the session is meant to live for the whole run. */
export async function openHost(target: ConnectionTarget, opts: TransportOptions = {}): Promise<HostSession> {
  const connection = await openConnection(target, opts);
  return new Session(target, connection, opts);
}

/** One session per inventory host for a whole run, sharing decrypted keys. */
export class HostPool {
  private readonly sessions = new Map<string, Promise<HostSession>>();
  private readonly opts: TransportOptions;
  constructor(opts: TransportOptions = {}) {
    this.opts = { ...opts, keyStore: opts.keyStore ?? new KeyStore(opts.passphrase) };
  }
  get(target: ConnectionTarget): Promise<HostSession> {
    let s = this.sessions.get(target.name);
    if (!s) {
      s = openHost(target, this.opts);
      this.sessions.set(target.name, s);
      s.catch(() => this.sessions.delete(target.name));
    }
    return s;
  }
  async closeAll(): Promise<void> {
    const all = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.allSettled(all.map(async (s) => (await s).close()));
  }
}
