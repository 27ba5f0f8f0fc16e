// The transport facade, the only module other folders import from src/transport:
// one HostSession per host for the whole run.
//   const s = await openHost(target, opts);
//   await s.ensureAgent("dist/agent.cjs");   // Node.js check, push by hash, verify
//   const agent = await s.startAgent();     // node agent --serve (through sudo with become)
//   await agent.request({ op: "facts" });
//   await agent.close(); await s.close();
import { AgentClient, type AgentClientOptions } from "./agent-client.js";
import { ensureAgentFile, readBundle, verifiedAgentArgv, type AgentBundle, type EnsureAgentResult } from "./agent-push.js";
import { bootstrapNode, type BootstrapReport } from "./node-bootstrap.js";
import { HostConnection, openConnection, type ConnectionOptions } from "./ssh-connection.js";
import { AgentProcessError, AgentVersionError } from "./errors.js";
import { requireNode, type NodeInfo } from "./node-detect.js";
import { execRemote, spawnRemote, type BecomeOptions, type ExecResult } from "./remote-process.js";
import type { ConnectionTarget } from "../shared/connection-target.js";

export * from "./errors.js";
export {
  AgentClient,
  AgentRequestError,
  CANCEL_ANSWER_WAIT_MS,
  type AgentClientOptions,
  type AgentRequestBody,
  type RequestOptions,
  type ResponseByOp,
  type ResponseFor,
} from "./agent-client.js";
export type { EnsureAgentResult } from "./agent-push.js";
export { PACKAGE_MANAGERS, installSteps, type BootstrapReport, type PackageManager } from "./node-bootstrap.js";
export { HostConnection, openConnection, type ConnectionOptions } from "./ssh-connection.js";
export { KeyStore, PASSPHRASE_ENV, type PassphraseSource } from "./private-keys.js";
export { fingerprintSha256, hashHostName, knownHostsName, parseKnownHosts, verifyHostKey } from "./known-hosts.js";
export { MIN_NODE_MAJOR, type NodeInfo } from "./node-detect.js";
export type { BecomeOptions, ExecResult, RemoteProcess } from "./remote-process.js";
export { buildCommand, shellQuote, shScript } from "./shell.js";
export { resolveTarget, type HopSettings, type SshConfigOptions } from "./ssh-config.js";
export type { ConnectionTarget, HostKeyChecking } from "../shared/connection-target.js";

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
  /**
   * Start `node <agent> --serve` (through sudo when target.become); needs
   * ensureAgent() first. An agent that speaks another protocol version makes
   * it upload the bundle again (once) and retry; AgentVersionError if it
   * still does not match.
   */
  startAgent(o?: AgentClientOptions): Promise<AgentClient>;
  /** Install Node.js with the host's package manager if missing or too old. */
  bootstrap(): Promise<BootstrapReport>;
  close(): Promise<void>;
}

function becomeOf(t: ConnectionTarget): BecomeOptions {
  return { ...(t.becomeUser ? { user: t.becomeUser } : {}), ...(t.becomePassword !== undefined ? { password: t.becomePassword } : {}) };
}

/** The SSH-backed HostSession (one per host and run). */
class SshHostSession implements HostSession {
  private nodeInfo: NodeInfo | undefined;
  private agent: (AgentOnHost & { bundle: AgentBundle }) | undefined;

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
    const bundle = readBundle(localBundlePath);
    const r = await ensureAgentFile(this.connection, bundle, node.path);
    if (r.replaced) this.o.warn?.(`${this.target.name}: ${r.remotePath} did not match its sha256 and was replaced`);
    this.agent = { ...r, node, bundle };
    return { ...r, node };
  }

  async startAgent(o: AgentClientOptions = {}): Promise<AgentClient> {
    const agent = this.agent;
    if (!agent) throw new AgentProcessError(this.target.name, "startAgent() called before ensureAgent()");
    try {
      return await this.spawnAgent(o);
    } catch (e) {
      if (!(e instanceof AgentVersionError)) throw e;
      // The file on the host is not what it should be: put the bundle there again, once.
      this.o.warn?.(`${this.target.name}: the agent speaks protocol ${e.agentProtocol}, not ${e.controllerProtocol}; uploading it again`);
      await ensureAgentFile(this.connection, agent.bundle, agent.node.path, { force: true });
    }
    try {
      return await this.spawnAgent(o);
    } catch (e) {
      if (!(e instanceof AgentVersionError)) throw e;
      throw new AgentVersionError(
        this.target.name,
        e.agentProtocol,
        e.controllerProtocol,
        `agent on ${this.target.name} speaks protocol ${e.agentProtocol} even after a fresh upload, this controller speaks ` +
          `${e.controllerProtocol}: the agent bundle (sha256 ${agent.sha256.slice(0, 12)}…) belongs to another postfleet version; rebuild it with \`npm run build\``,
      );
    }
  }

  private async spawnAgent(o: AgentClientOptions): Promise<AgentClient> {
    const { remotePath, sha256, node } = this.agent!;
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
  return new SshHostSession(target, connection, opts);
}
