// About 400 lines: one class, SshHostSession, whose steps (connect, Node.js, push, start, resident agent) share its state.
// One host's session for the whole run: the SSH connection (ssh2 or OpenSSH),
// Node.js found or installed, the agent pushed by hash and started once (or the
// resident agent a previous run left reached again), commands run through sudo.
import { AgentClient, type AgentClientOptions, type RequestTiming } from "./agent-client.js";
import { LoaderStatusError, launchArgv, loaderFailure, parseLoaderLine, type LoaderStatus } from "./agent-launch.js";
import { readBundle, uploadAgent, type AgentBundle } from "./agent-push.js";
import { bootstrapNode, type BootstrapReport } from "./node-bootstrap.js";
import { openConnection, type ConnectionOptions, type HostConnection } from "./ssh-connection.js";
import { openOpenSshConnection } from "./openssh-connection.js";
import { chooseTransportResolving, type TransportChoice } from "./transport-choice.js";
import { AgentProcessError, AgentVersionError } from "./errors.js";
import { requireNode, type NodeInfo } from "./node-detect.js";
import { execRemote, RemoteProcess, spawnRemote, type BecomeOptions, type ExecResult } from "./remote-process.js";
import { expectedResidentSocket, ResidentStore, type ResidentEntry, type ResidentKey } from "./resident-store.js";
import type { AttachLine } from "../protocol/index.js";
import { createHmac, randomBytes } from "node:crypto";
import type { ConnectionTarget, TransportKind } from "../shared/connection-target.js";

export interface TransportOptions extends ConnectionOptions {
  /** Default timeout for each command and each agent request (0/undefined: none). */
  opTimeoutMs?: number;
  /** Gets one line per host when its session closes: where its time went (`-vv`). */
  timingsLog?: (line: string) => void;
  /**
   * Keep a resident agent on each host for this long without a connection
   * (0/undefined: none), and reach the one a previous run left instead of
   * starting Node.js. Entries (socket, secret) live in `residentStore`.
   */
  persistIdleMs?: number;
  residentStore?: ResidentStore;
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
  /** True when the run reached a resident agent (agentMs is then the attach: no Node.js start). */
  resident?: boolean;
  /** A fresh agent: whether V8's code cache compiled its bundle ("used"), or why not (agent-launch.ts CodeCacheState). */
  codeCache?: "used" | "missing" | "rejected" | "off";
  /** Each agent request, in the order they ended. */
  requests: RequestTiming[];
  /** The transport that reached the host. */
  transport: TransportKind;
  /** Why openssh was chosen for a host that set no transport (transport-choice.ts). */
  transportBecause?: string;
}

/** One line for humans: "connect 12 ms, auth 30 ms, agent 410 ms (uploaded), hello 150 ms, requests: postmulti 40 ms, facts 12 ms". */
export function formatTimings(t: HostTimings): string {
  const parts = [`${t.transport}${t.transportBecause ? ` (${t.transportBecause})` : ""}: connect ${t.connectMs} ms`, `auth ${t.authMs} ms`];
  if (t.agentMs !== undefined) parts.push(`agent ${t.agentMs} ms${t.uploaded ? " (uploaded)" : t.resident ? " (resident)" : ""}`);
  if (t.helloMs !== undefined) parts.push(`hello ${t.helloMs} ms${t.codeCache ? ` (code cache ${t.codeCache})` : ""}`);
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
  /** Ask the resident agent this controller recorded for the host to exit; "none" when there is no record or nothing answers. */
  stopResident(): Promise<"stopped" | "none">;
  close(): Promise<void>;
}

/** Where a host's resident agent is recorded, and for how long it may idle. */
interface ResidentPlan {
  store: ResidentStore;
  key: ResidentKey;
  idleMs: number;
}

/** How long after its record was written, or the run that asked for it ended, a resident agent may still be starting; how often to look again. */
const RESIDENT_START_GRACE_MS = 15_000;
const RESIDENT_RETRY_MS = 200;
const SSH_OPEN_CONNECT_FAILED = 2;

let sharedStore: ResidentStore | undefined;
const defaultStore = (): ResidentStore => (sharedStore ??= new ResidentStore());

function becomeOf(t: ConnectionTarget): BecomeOptions {
  return { ...(t.becomeUser ? { user: t.becomeUser } : {}), ...(t.becomePassword !== undefined ? { password: t.becomePassword } : {}) };
}

/** The SSH-backed HostSession (one per host and run). */
class SshHostSession implements HostSession {
  private nodeInfo: NodeInfo | undefined;
  agentOnHost: AgentOnHost | undefined;
  private agentPhase: { agentMs: number; helloMs: number; uploaded: boolean; resident?: boolean; codeCache?: HostTimings["codeCache"] } | undefined;
  private clients: AgentClient[] = [];
  /** The resident record this run wrote (askToPersist), whose start grace restarts when the session closes. */
  private askedToPersist: { store: ResidentStore; key: ResidentKey; secret: string } | undefined;

  constructor(
    readonly target: ConnectionTarget,
    readonly connection: HostConnection,
    private readonly o: TransportOptions,
    private readonly choice: TransportChoice,
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
      transport: this.choice.kind,
      ...(this.choice.because ? { transportBecause: this.choice.because } : {}),
    };
  }

  async startAgent(localBundlePath: string, o: AgentClientOptions = {}): Promise<AgentClient> {
    const bundle = readBundle(localBundlePath);
    const started = performance.now();
    const resident = this.residentPlan();
    if (resident) {
      const client = await this.attachResident(resident, bundle, started, o);
      if (client) return client;
    }
    const client = await this.startFresh(bundle, started, o);
    if (resident) await this.askToPersist(client, resident, bundle);
    return client;
  }

  /** Where this host's resident agent is recorded, when the run keeps them. */
  private residentPlan(): ResidentPlan | undefined {
    const idleMs = this.o.persistIdleMs ?? 0;
    if (idleMs <= 0) return undefined;
    // A host whose key was not verified (checking off) may be an impostor: it gets no resident
    // agent's secret, as it gets no become password, and none is left for later runs.
    if (this.connection.unverifiedHostKey) return undefined;
    // A connection that cannot reach the host's Unix socket (openssh when ssh's log gave no host key): a fresh agent each run.
    if (!this.connection.streamLocal) return undefined;
    // The agent keeps none under become to a third user (it would answer to the login user's sshd
    // as someone else): do not ask, rather than warn on every run.
    const key = this.residentKey();
    if (key.become !== null && key.become !== "root" && key.become !== key.user) return undefined;
    return { store: this.o.residentStore ?? defaultStore(), key, idleMs };
  }

  /** Who logs in where, and as whom the agent runs: one resident agent each. */
  private residentKey(): ResidentKey {
    const s = this.connection.settings;
    return {
      user: s.user,
      hostname: s.hostname,
      port: s.port,
      become: this.target.become ? (this.target.becomeUser ?? "root") : null,
      identity: this.connection.hostIdentity,
    };
  }

  /** Reach the resident agent a previous run left: one channel, no Node.js start. Undefined when there is none to use. */
  private async attachResident(r: ResidentPlan, bundle: AgentBundle, started: number, o: AgentClientOptions): Promise<AgentClient | undefined> {
    const entry = r.store.get(r.key);
    if (!entry) return undefined;
    // A record of another bundle, or of an agent gone, idle-expired, replaced or not ours: start one as usual.
    const forget = () => void r.store.delete(r.key);
    if (entry.sha256 !== bundle.sha256) return forget();
    let client: AgentClient;
    try {
      const channel = await this.openResidentChannel(entry);
      const proc = new RemoteProcess(channel);
      proc.forward();
      const attach: AttachLine = { op: "attach", secret: this.residentSecret(entry.secret), sha256: bundle.sha256, idleMs: r.idleMs };
      proc.write(`${JSON.stringify(attach)}\n`);
      client = await AgentClient.start(this.target.name, proc, {
        requestTimeoutMs: this.o.opTimeoutMs,
        connectionLost: () => !this.connection.isOpen,
        helloTimeoutMs: 10_000,
        ...o,
        resident: true,
      });
    } catch {
      return forget();
    }
    if (!client.hello.resident) {
      await client.close().catch(() => undefined);
      return forget();
    }
    this.agentPhase = { agentMs: Math.round(performance.now() - started), helloMs: 0, uploaded: false, resident: true };
    this.agentOnHost = { remotePath: entry.socketPath, sha256: bundle.sha256, uploaded: false, replaced: false, node: { path: entry.nodePath, version: entry.nodeVersion } };
    this.clients.push(client);
    return client;
  }

  /**
   * The resident agent's socket. A record written moments ago (a run that just ended, or one still
   * going, asked for it) may name an agent whose Node.js is still starting: wait for it a little rather
   * than start a second agent, which back-to-back runs would pay on every host.
   */
  private async openResidentChannel(entry: ResidentEntry) {
    const youngUntil = (entry.createdAt ?? 0) + RESIDENT_START_GRACE_MS;
    for (;;) {
      try {
        return await this.connection.openStreamLocal(entry.socketPath);
      } catch (e) {
        // Only "nothing listens there yet" (SSH_OPEN_CONNECT_FAILED) is worth a wait; a refusal by sshd is final.
        const notYet = ((e as Error).cause as { reason?: unknown } | undefined)?.reason === SSH_OPEN_CONNECT_FAILED;
        const wait = Math.min(RESIDENT_RETRY_MS, youngUntil - Date.now());
        if (!notYet || wait <= 0 || !this.connection.isOpen) throw e;
        await new Promise((res) => setTimeout(res, wait));
      }
    }
  }

  /**
   * What the resident agent wants in the attach line: the stored seed bound to this run's become
   * password, so that a run with another (wrong, or rotated) password is not let in on the strength
   * of an earlier run's: it starts a fresh agent and sudo judges its password. Nothing derived from
   * the password is stored on the controller or the host's disk.
   */
  private residentSecret(seed: string): string {
    const password = this.target.become ? this.target.becomePassword : undefined;
    if (password === undefined) return seed;
    return createHmac("sha256", Buffer.from(seed, "hex")).update(password, "utf8").digest("hex");
  }

  /** Ask the agent just started to hand over to a resident one at the end of the run, with a fresh secret. */
  private async askToPersist(client: AgentClient, r: ResidentPlan, bundle: AgentBundle): Promise<void> {
    const secret = randomBytes(32).toString("hex");
    try {
      const p = await client.request({ op: "persist", secret: this.residentSecret(secret), idleMs: r.idleMs });
      const onHost = this.agentOnHost;
      if (!expectedResidentSocket(p.socketPath, { become: r.key.become, bundlePath: onHost?.remotePath ?? "" })) {
        this.o.warn?.(`${this.target.name}: no resident agent will be kept: the agent would listen on ${p.socketPath}, not where this host's must`);
        return;
      }
      const node = onHost?.node;
      this.askedToPersist = { store: r.store, key: r.key, secret };
      r.store.set(r.key, {
        socketPath: p.socketPath,
        secret,
        sha256: bundle.sha256,
        nodePath: node?.path ?? "",
        nodeVersion: node?.version ?? client.hello.nodeVersion,
        createdAt: Date.now(),
      });
    } catch (e) {
      this.o.warn?.(`${this.target.name}: no resident agent will be kept: ${(e as Error).message}`);
    }
  }

  /** The one-exec start (upload and retry when needed). */
  private async startFresh(bundle: AgentBundle, started: number, o: AgentClientOptions): Promise<AgentClient> {
    const host = this.target.name;
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
        const codeCache = client.hello.codeCache;
        this.agentPhase = { agentMs: Math.round(verifiedAt - started), helloMs: Math.round(now - verifiedAt), uploaded, ...(codeCache ? { codeCache } : {}) };
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

  async stopResident(): Promise<"stopped" | "none"> {
    const key = this.residentKey();
    const store = this.o.residentStore ?? defaultStore();
    const entry = store.get(key);
    if (!entry || !this.connection.streamLocal) return "none";
    store.delete(key);
    const channel = await this.connection.openStreamLocal(entry.socketPath).catch(() => undefined);
    if (!channel) return "none";
    const stop: AttachLine = { op: "attach", secret: this.residentSecret(entry.secret), sha256: entry.sha256, stop: true };
    const answer = await new Promise<string>((resolve) => {
      let out = "";
      const t = setTimeout(() => resolve(out), this.connection.channelTimeoutMs);
      channel.on("data", (d: Buffer) => (out += d.toString("utf8")));
      channel.on("close", () => {
        clearTimeout(t);
        resolve(out);
      });
      channel.end(`${JSON.stringify(stop)}\n`);
    });
    return /"op":"shutdown"/.test(answer) ? "stopped" : "none";
  }

  async bootstrap(): Promise<BootstrapReport> {
    const report = await bootstrapNode(this.connection, { nodePath: this.target.nodePath, become: becomeOf(this.target) });
    this.nodeInfo = undefined;
    return report;
  }

  close(): Promise<void> {
    this.o.timingsLog?.(`${this.target.name}: ${formatTimings(this.timings())}`);
    this.restartGrace();
    return this.connection.close();
  }

  /**
   * The resident agent this run asked for may still be starting when the run ends (many hosts'
   * Node.js starts queue on a busy host or lab): its record's start grace counts from now, the end
   * of the run, so that the next run waits for it rather than starting a second agent.
   */
  private restartGrace(): void {
    const asked = this.askedToPersist;
    if (!asked) return;
    try {
      const entry = asked.store.get(asked.key);
      if (entry && entry.secret === asked.secret) asked.store.set(asked.key, { ...entry, createdAt: Date.now() });
    } catch {
      // The record stays as written; a later run may then start a fresh agent.
    }
  }
}

/** Connect to one host; the session is meant to live for the whole run. */
export async function openHost(target: ConnectionTarget, opts: TransportOptions = {}): Promise<HostSession> {
  const { choice, settings } = await chooseTransportResolving(target, opts);
  const connection = choice.kind === "openssh" ? await openOpenSshConnection(target, opts, settings) : await openConnection(target, opts, settings);
  return new SshHostSession(target, connection, opts, choice);
}
