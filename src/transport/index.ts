// The transport facade, the only module other folders import from src/transport:
// one HostSession per host for the whole run.
//   const s = await openHost(target, opts);
//   const agent = await s.startAgent("dist/agent.cjs"); // one exec: find Node.js, verify, run those bytes
//   await agent.request({ op: "facts" });               //   (through sudo with become; upload when needed)
//   await agent.close(); await s.close();
import { AgentClient, type AgentClientOptions, type RequestTiming } from "./agent-client.js";
import { LoaderStatusError, launchArgv, loaderFailure, parseLoaderLine, type LoaderStatus } from "./agent-launch.js";
import { readBundle, uploadAgent, type AgentBundle } from "./agent-push.js";
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
  type RequestTiming,
} from "./agent-client.js";
export { PACKAGE_MANAGERS, installSteps, type BootstrapReport, type PackageManager } from "./node-bootstrap.js";
export { HostConnection, hostsWithoutKeyChecking, openConnection, type ConnectionOptions, type ConnectTimings } from "./ssh-connection.js";
export { KeyStore, PASSPHRASE_ENV, type PassphraseSource } from "./private-keys.js";
export { fingerprintSha256, hashHostName, knownHostsName, parseKnownHosts, verifyHostKey, type UnverifiedHostKey } from "./known-hosts.js";
export { MIN_NODE_MAJOR, type NodeInfo } from "./node-detect.js";
export type { BecomeOptions, ExecResult, RemoteProcess } from "./remote-process.js";
export { buildCommand, LOGIN_HOME, shellQuote, shScript } from "./shell.js";
export { resolveTarget, type HopSettings, type SshConfigOptions } from "./ssh-config.js";
export type { ConnectionTarget, HostKeyChecking } from "../shared/connection-target.js";

export interface TransportOptions extends ConnectionOptions {
  /** Default timeout for each command and each agent request (0/undefined: none). */
  opTimeoutMs?: number;
  /** Gets one line per host when its session closes: where its time went (`-vv`). */
  timingsLog?: (line: string) => void;
}

/** Where a host's time went, in ms: the `timings` of each host in `--json`. */
export interface HostTimings {
  /** TCP connect, key exchange and host key check. */
  connectMs: number;
  /** Key loading and SSH authentication. */
  authMs: number;
  /** The agent's exec up to its bundle verified on the host: Node.js start, read and hash (and the upload when one was needed). */
  agentMs?: number;
  /** From the verified bundle to the agent's hello. */
  helloMs?: number;
  /** True when this run uploaded the bundle. */
  uploaded?: boolean;
  /** Each agent request, in the order they ended. */
  requests: RequestTiming[];
}

/** One line for humans: "connect 12 ms, auth 30 ms, agent 410 ms (uploaded), hello 150 ms, requests: postmulti 40 ms, facts 12 ms". */
export function formatTimings(t: HostTimings): string {
  const parts = [`connect ${t.connectMs} ms`, `auth ${t.authMs} ms`];
  if (t.agentMs !== undefined) parts.push(`agent ${t.agentMs} ms${t.uploaded ? " (uploaded)" : ""}`);
  if (t.helloMs !== undefined) parts.push(`hello ${t.helloMs} ms`);
  const reqs = t.requests.length ? `; requests: ${t.requests.map((r) => `${r.op} ${r.ms} ms`).join(", ")}` : "";
  return `${parts.join(", ")}${reqs}`;
}

export interface SessionExecOptions {
  /** Run through sudo as the target's becomeUser, with its becomePassword. Default false. */
  become?: boolean;
  timeoutMs?: number;
  stdin?: string | Buffer;
}

/** What the last startAgent() found on the host. */
export interface AgentOnHost {
  /** Absolute path of the agent on the host. */
  remotePath: string;
  sha256: string;
  /** True when this start uploaded the bundle. */
  uploaded: boolean;
  /** True when a file with that name was there but did not match its hash (tampered or truncated), or was not the login user's. */
  replaced: boolean;
  /** The Node.js that runs the agent (root's under become). */
  node: NodeInfo;
}

export interface HostSession {
  readonly target: ConnectionTarget;
  readonly connection: HostConnection;
  /** Run argv (each element reaches the program verbatim). A non-zero exit is a result, not an error. */
  exec(argv: readonly string[], o?: SessionExecOptions): Promise<ExecResult>;
  /** Node.js ≥ 18 on the host, or NodeMissingError pointing to `postfleet bootstrap` (its own exec; startAgent needs none). */
  node(): Promise<NodeInfo>;
  /**
   * Start the agent `--serve` (through sudo when target.become) in one exec
   * in the common case: the loader finds Node.js, reads the cached bundle,
   * checks its sha256 on those bytes and runs them. A missing or altered
   * bundle is uploaded (one more exec) and the start tried again; an agent
   * that speaks another protocol version is uploaded again once, then
   * AgentVersionError. NodeMissingError when Node.js is missing or too old.
   */
  startAgent(localBundlePath: string, o?: AgentClientOptions): Promise<AgentClient>;
  /** What the last successful startAgent() found (undefined before). */
  readonly agentOnHost: AgentOnHost | undefined;
  /** Where this host's time went so far. */
  timings(): HostTimings;
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
  agentOnHost: AgentOnHost | undefined;
  private agentPhase: { agentMs: number; helloMs: number; uploaded: boolean } | undefined;
  private clients: AgentClient[] = [];

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

  timings(): HostTimings {
    return {
      ...this.connection.timings,
      ...(this.agentPhase ?? {}),
      requests: this.clients.flatMap((c) => c.timings),
    };
  }

  async startAgent(localBundlePath: string, o: AgentClientOptions = {}): Promise<AgentClient> {
    const host = this.target.name;
    const bundle = readBundle(localBundlePath);
    const started = performance.now();
    let uploaded = false;
    let replaced = false;
    const upload = async (nodePath: string | undefined) => {
      await uploadAgent(this.connection, bundle, nodePath ? { nodePath } : {});
      uploaded = true;
    };
    let versionRetry = false;
    for (;;) {
      try {
        const { client, verified, verifiedAt } = await this.launch(bundle, o);
        const now = performance.now();
        this.agentPhase = { agentMs: Math.round(verifiedAt - started), helloMs: Math.round(now - verifiedAt), uploaded };
        this.agentOnHost = { remotePath: verified.path, sha256: bundle.sha256, uploaded, replaced, node: { path: verified.nodePath, version: verified.node } };
        this.clients.push(client);
        return client;
      } catch (e) {
        if (e instanceof LoaderStatusError && e.status.status === "upload-needed" && !uploaded) {
          if (e.status.reason !== "missing" && e.status.reason !== "no-cache") {
            replaced = true;
            this.o.warn?.(`${host}: ${e.status.path} did not match its sha256 and was replaced`);
          }
          await upload(e.status.nodePath);
          continue;
        }
        if (e instanceof LoaderStatusError) throw loaderFailure(host, e.status, this.target.nodePath);
        if (e instanceof AgentVersionError && !versionRetry) {
          // The file on the host is not what it should be: put the bundle there again, once.
          versionRetry = true;
          this.o.warn?.(`${host}: the agent speaks protocol ${e.agentProtocol}, not ${e.controllerProtocol}; uploading it again`);
          await upload(this.agentOnHost?.node.path);
          continue;
        }
        if (e instanceof AgentVersionError) {
          throw new AgentVersionError(
            host,
            e.agentProtocol,
            e.controllerProtocol,
            `agent on ${host} speaks protocol ${e.agentProtocol} even after a fresh upload, this controller speaks ` +
              `${e.controllerProtocol}: the agent bundle (sha256 ${bundle.sha256.slice(0, 12)}…) belongs to another postfleet version; rebuild it with \`npm run build\``,
          );
        }
        // The shell could not run the Node.js it found (a postfleet_node that is not a program).
        const code = e instanceof AgentProcessError ? e.exitStatus?.exitCode : undefined;
        if (code === 126 || code === 127) throw loaderFailure(host, { status: "node-missing" }, this.target.nodePath ?? "node");
        throw e;
      }
    }
  }

  /** One exec of the loader; resolves once the agent said hello. */
  private async launch(bundle: AgentBundle, o: AgentClientOptions): Promise<{ client: AgentClient; verified: Extract<LoaderStatus, { status: "verified" }>; verifiedAt: number }> {
    const become = !!this.target.become;
    const argv = launchArgv({ sha256: bundle.sha256, become, agentArgs: ["--serve"], ...(this.target.nodePath ? { nodePath: this.target.nodePath } : {}) });
    const proc = await spawnRemote(this.connection, argv, { become: become ? becomeOf(this.target) : false });
    let verified: Extract<LoaderStatus, { status: "verified" }> | undefined;
    let verifiedAt = 0;
    const client = await AgentClient.start(this.target.name, proc, {
      requestTimeoutMs: this.o.opTimeoutMs,
      connectionLost: () => !this.connection.isOpen,
      ...o,
      preHelloLine: (line) => {
        const s = parseLoaderLine(line);
        if (!s) return undefined;
        if (s.status !== "verified") return new LoaderStatusError(this.target.name, s);
        verified = s;
        verifiedAt = performance.now();
        return undefined;
      },
    });
    if (!verified) {
      await client.close().catch(() => undefined);
      throw new AgentProcessError(this.target.name, `the agent on ${this.target.name} said hello without the loader's verification`);
    }
    return { client, verified, verifiedAt };
  }

  async bootstrap(): Promise<BootstrapReport> {
    const report = await bootstrapNode(this.connection, { nodePath: this.target.nodePath, become: becomeOf(this.target) });
    this.nodeInfo = undefined;
    return report;
  }

  close(): Promise<void> {
    this.o.timingsLog?.(`${this.target.name}: ${formatTimings(this.timings())}`);
    return this.connection.close();
  }
}

/** Connect to one host; the session is meant to live for the whole run. */
export async function openHost(target: ConnectionTarget, opts: TransportOptions = {}): Promise<HostSession> {
  const connection = await openConnection(target, opts);
  return new SshHostSession(target, connection, opts);
}
