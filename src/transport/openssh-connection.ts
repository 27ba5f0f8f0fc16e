// The OpenSSH transport (postfleet_transport: openssh): the system's `ssh`
// reaches the host with the operator's ssh_config, agent, certificates,
// Kerberos tickets, FIDO keys, ProxyCommand and Match exec, all of which ssh2
// lacks. One private ControlMaster per host for the run (its socket in a 0700
// directory of this process, ControlPersist short so that a crashed run leaves
// nothing behind for long, `ssh -O exit` at the end); every exec is one more
// `ssh` through it, its stdin/stdout/stderr standing in for ssh2's channel, so
// the session's code (agent push, launch, verify by hash, sudo, requests) is
// the same on both transports. The resident agent's Unix socket is reached as
// with ssh2, through sshd's stream-local forwarding as the login user: the master
// forwards a socket in the private directory to it (`ssh -O forward -L`; OpenSSH
// 9.2's `-W` takes no socket path), and the host's identity for its record is
// the host keys ssh accepted, read from the master's `-v` log.
import { spawn } from "node:child_process";
import { EventEmitter } from "node:events";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ClientChannel } from "ssh2";
import { classifySshFailure, exitArgv, forwardArgv, hostKeysFromLog, masterArgv, sessionArgv, type OpenSshArgvOptions } from "./openssh-argv.js";
import { AgentProcessError, UnreachableError } from "./errors.js";
import { knownHostsLookupName, type UnverifiedHostKey } from "./known-hosts.js";
import { currentUserName, resolveTarget, type HopSettings, type SshConfigOptions } from "./ssh-config/resolve.js";
import { buildCommand } from "./shell.js";
import type { ConnectionOptions, ConnectTimings, HostConnection } from "./ssh-connection.js";
import type { ConnectionTarget } from "../shared/connection-target.js";

/** How long a master may stay without a client (postfleet's session holds one while the agent runs): a run that died leaves it that long. */
export const CONTROL_PERSIST_S = 60;

/** The `ssh` program ($POSTFLEET_SSH: tests point it elsewhere). */
const sshProgram = (): string => process.env.POSTFLEET_SSH || "ssh";

/**
 * Every ssh runs in a session of its own (setsid): no controlling terminal, so nothing (a jump
 * host's ssh, which BatchMode does not reach) can prompt on it, and the terminal's Ctrl-C goes to
 * postfleet alone, which lets the work in progress finish before it closes the sessions itself.
 */
const SPAWN_DETACHED = { detached: true } as const;

let runDir: string | undefined;
let socketCount = 0;

/** This process's private directory for the masters' sockets and logs (0700, removed at exit). */
function privateDir(): string {
  if (runDir) return runDir;
  // A Unix socket path has room for about 100 bytes, and ssh adds 17 while it binds: stay short.
  const base = tmpdir().length > 40 ? "/tmp" : tmpdir();
  runDir = mkdtempSync(join(base, "postfleet-ssh-"));
  const dir = runDir;
  process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The ssh_config file ssh should read: the operator's unless the options name files (tests: [] is none). */
function configFileOf(s: SshConfigOptions | undefined): string | undefined {
  if (!s?.files) return undefined;
  return s.files[0] ?? "/dev/null";
}

/** ssh's exit status for its own failures (connect, authentication, a lost master). */
const SSH_FAILED = 255;

/**
 * An `ssh` process through the master, dressed as the ssh2 channel the session code reads:
 * "data", stderr "data", "exit" (code) and "close"; write, end, signal, close.
 */
class SshProcessChannel extends EventEmitter {
  readonly stderr = new EventEmitter();
  private readonly child;

  constructor(argv: string[], connectionOpen: () => boolean) {
    super();
    this.child = spawn(sshProgram(), argv, { ...SPAWN_DETACHED, stdio: ["pipe", "pipe", "pipe"] });
    this.child.stdout.on("data", (d: Buffer) => this.emit("data", d));
    this.child.stderr.on("data", (d: Buffer) => this.stderr.emit("data", d));
    this.child.stdin.on("error", () => undefined); // the command ended first: its exit tells
    let ended = false;
    const finish = (code: number | null, signal: NodeJS.Signals | null) => {
      if (ended) return;
      ended = true;
      // 255 is ssh's own failure: with the master gone, the connection was lost (no exit status).
      if (code !== null && !(code === SSH_FAILED && !connectionOpen())) this.emit("exit", code);
      else if (signal !== null && code === null) this.emit("exit", null, signal.replace(/^SIG/, ""));
      this.emit("close");
    };
    this.child.once("close", finish);
    this.child.once("error", () => finish(null, null));
  }

  write(data: string | Buffer): boolean {
    return this.child.stdin.write(data);
  }

  end(data?: string | Buffer): this {
    if (data !== undefined) this.child.stdin.end(data);
    else this.child.stdin.end();
    return this;
  }

  /** ssh forwards no signal to the remote command: ending the ssh process closes its channel (EOF, then SIGPIPE on the host). */
  signal(): void {}

  close(): void {
    this.child.kill("SIGTERM");
  }
}

/** ssh2's reason code for a channel nobody listens at (SSH_OPEN_CONNECT_FAILED): the session waits for a resident agent still starting. */
const OPEN_CONNECT_FAILED = 2;

/**
 * A connection to the master's local end of a stream-local forward, dressed as the channel the
 * session code reads ("data", "close", stderr; write, end, close). No exit status: a socket has none.
 */
class ForwardedSocketChannel extends EventEmitter {
  readonly stderr = new EventEmitter();

  constructor(private readonly socket: import("node:net").Socket) {
    super();
    socket.on("data", (d: Buffer) => this.emit("data", d));
    socket.on("error", () => undefined); // the close that follows tells
    socket.once("close", () => this.emit("close"));
    // The far end is done (the agent closed): end ours too, so the master closes the channel now.
    socket.once("end", () => socket.end());
  }

  write(data: string | Buffer): boolean {
    return this.socket.write(data);
  }

  end(data?: string | Buffer): this {
    if (data !== undefined) this.socket.end(data);
    else this.socket.end();
    return this;
  }

  signal(): void {}

  close(): void {
    this.socket.destroy();
  }
}

/** The channel type the session code is written against; SshProcessChannel provides what it uses. */
const asChannel = (c: SshProcessChannel | ForwardedSocketChannel): ClientChannel => c as unknown as ClientChannel;

/** One host through the system's ssh: a private master for the run, an ssh per exec. */
export class OpenSshConnection implements HostConnection {
  /** The host keys ssh accepted (jump hosts first), from the master's log; none read: no resident agent. */
  hostIdentity: readonly string[] = [];
  /** The local end of each remote socket forwarded so far. */
  private readonly forwards = new Map<string, Promise<string>>();
  timings: ConnectTimings = { connectMs: 0, authMs: 0 };
  unverifiedHostKey: UnverifiedHostKey | undefined;
  private closed = false;

  constructor(
    readonly target: ConnectionTarget,
    readonly settings: { hostname: string; port: number; user: string },
    private readonly argvOptions: OpenSshArgvOptions,
    private readonly logPath: string,
  ) {}

  /** A resident agent is used only on a host whose identity ssh's log gave. */
  get streamLocal(): boolean {
    return this.hostIdentity.length > 0;
  }

  get channelTimeoutMs(): number {
    return this.argvOptions.connectTimeoutMs;
  }

  /** The master removes its socket when it exits. */
  get isOpen(): boolean {
    return !this.closed && existsSync(this.argvOptions.controlPath);
  }

  openChannel<T>(command: string, onOpen: (channel: ClientChannel) => T): Promise<T> {
    if (!this.isOpen) return Promise.reject(new UnreachableError(this.target.name, `connection to ${this.target.name} is closed (its ssh master is gone)`));
    return Promise.resolve(onOpen(asChannel(new SshProcessChannel(sessionArgv(this.target, this.argvOptions, command), () => this.isOpen))));
  }

  /**
   * A stream to the Unix socket `socketPath` on the host, through the master's forward of a socket
   * in this process's private directory (0700: no other local user can connect to it). A socket that
   * is not there yet rejects as ssh2's "connect failed" does (the session may wait for it): ssh
   * reports a failed forward only by closing the local connection, so the login user's shell is
   * asked first (`test -S`, one more ssh through the master, no process started on the host).
   */
  async openStreamLocal(socketPath: string): Promise<ClientChannel> {
    const host = this.target.name;
    const fail = (why: string, reason?: number) =>
      new AgentProcessError(host, `cannot reach ${socketPath} on ${host}: ${why}`, reason === undefined ? undefined : { cause: { reason } });
    if (!this.isOpen) throw new UnreachableError(host, `connection to ${host} is closed (its ssh master is gone)`);
    const probe = await this.run(sessionArgv(this.target, this.argvOptions, buildCommand(["test", "-S", socketPath])));
    if (probe !== 0) throw fail(probe === 1 ? "no socket there" : `ssh exited with status ${probe}`, probe === 1 ? OPEN_CONNECT_FAILED : undefined);
    const local = await this.forwardTo(socketPath);
    if (!local) throw fail("ssh would not forward it");
    return await new Promise<ClientChannel>((resolve, reject) => {
      const socket = createConnection(local);
      socket.once("connect", () => resolve(asChannel(new ForwardedSocketChannel(socket))));
      socket.once("error", (e) => reject(fail(e.message)));
    });
  }

  /** The local socket the master forwards to `socketPath` (asked for once per path); undefined when ssh refused. */
  private forwardTo(socketPath: string): Promise<string | undefined> {
    let f = this.forwards.get(socketPath);
    if (!f) {
      const local = `${this.argvOptions.controlPath}.f${this.forwards.size}`;
      const argv = forwardArgv(this.target, this.argvOptions, local, socketPath);
      f = argv ? this.run(argv).then((code) => (code === 0 ? local : "")) : Promise.resolve("");
      this.forwards.set(socketPath, f);
    }
    return f.then((l) => l || undefined);
  }

  /** One more ssh through the master, to its end: its exit status (null: it could not run or timed out). */
  private async run(argv: string[]): Promise<number | null> {
    const r = await runSsh(argv, this.channelTimeoutMs);
    return r.timedOut ? null : r.code;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    const open = this.isOpen;
    this.closed = true;
    if (open) await runSsh(exitArgv(this.target, this.argvOptions), 10_000);
    rmSync(this.logPath, { force: true });
  }
}

/** Run ssh to its end (the master's parent exits once authenticated), with a deadline. */
function runSsh(argv: string[], timeoutMs: number, stderrFd?: number): Promise<{ code: number | null; timedOut: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(sshProgram(), argv, { ...SPAWN_DETACHED, stdio: ["ignore", "ignore", stderrFd ?? "ignore"] });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    // "exit", not "close": the master's daemon keeps the log file open, never a pipe of ours.
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, timedOut });
    });
    child.once("error", () => {
      clearTimeout(timer);
      resolve({ code: null, timedOut });
    });
  });
}

/** ssh's names of key types in its messages, as the protocol names them (the ssh2 transport's keyType); others as ssh says them. */
const KEY_TYPE_NAMES: Record<string, string> = {
  ED25519: "ssh-ed25519",
  RSA: "ssh-rsa",
  DSA: "ssh-dss",
  "ED25519-SK": "sk-ssh-ed25519@openssh.com",
};

/** The key ssh accepted with StrictHostKeyChecking=no although it did not verify it, from the master's log. */
export function unverifiedFromLog(log: string): UnverifiedHostKey | undefined {
  const typeOf = (t: string | undefined) => (t === undefined ? "?" : (KEY_TYPE_NAMES[t] ?? t));
  const changed = /REMOTE HOST IDENTIFICATION HAS CHANGED/.test(log);
  const fp = /fingerprint for the (\S+) key sent by the remote host is\s+(\S+?)\.?\s*$/m.exec(log);
  if (changed) return { presented: "changed", keyType: typeOf(fp?.[1]), fingerprint: fp?.[2] ?? "?" };
  const added = /Permanently added '[^']*' \((\S+)\) to the list of known hosts/.exec(log);
  if (added) return { presented: "unknown", keyType: typeOf(added[1]), fingerprint: "?" };
  return undefined;
}

/** Start the host's private master through the system's ssh; errors as the ssh2 transport's (host key, authentication, unreachable). */
/** `resolved`: the target's ssh_config settings (postfleet's reading) when the caller already has them. */
export async function openOpenSshConnection(target: ConnectionTarget, o: ConnectionOptions = {}, resolved?: HopSettings): Promise<OpenSshConnection> {
  // What postfleet's own reading of ssh_config says, for messages and the connect timeout; ssh reads it again itself.
  let settings = { hostname: target.address, port: target.port ?? 22, user: target.user ?? currentUserName() };
  let configTimeoutMs = target.connectTimeoutMs;
  let hostKeyAlias: string | undefined;
  try {
    const s = resolved ?? resolveTarget(target, o.sshConfig);
    settings = { hostname: s.hostname, port: s.port, user: s.user };
    configTimeoutMs = s.connectTimeoutMs;
    hostKeyAlias = s.hostKeyAlias;
  } catch {
    // A keyword postfleet's reader refuses is ssh's business here.
  }
  const dir = privateDir();
  const id = ++socketCount;
  const argvOptions: OpenSshArgvOptions = {
    controlPath: join(dir, `m${id}`),
    connectTimeoutMs: configTimeoutMs ?? o.connectTimeoutMs ?? 10_000,
    ...(configFileOf(o.sshConfig) !== undefined ? { configFile: configFileOf(o.sshConfig)! } : {}),
    ...(o.knownHostsFile !== undefined ? { knownHostsFile: o.knownHostsFile } : {}),
    ...(o.globalKnownHostsFiles !== undefined ? { globalKnownHostsFiles: o.globalKnownHostsFiles } : {}),
    ...(o.hostKeyChecking !== undefined ? { hostKeyChecking: o.hostKeyChecking } : {}),
    ...(o.agentSocket !== undefined ? { agentSocket: o.agentSocket } : {}),
  };
  const logPath = join(dir, `m${id}.log`);
  const where = `${target.name} (${settings.user}@${settings.hostname}:${settings.port})`;
  const fd = openSync(logPath, "w", 0o600);
  const started = performance.now();
  // ConnectTimeout bounds each TCP connect; jump hosts, key exchange and authentication get as long again, twice.
  const deadlineMs = argvOptions.connectTimeoutMs * 3;
  let r: { code: number | null; timedOut: boolean };
  try {
    r = await runSsh(masterArgv(target, argvOptions, CONTROL_PERSIST_S), deadlineMs, fd);
  } finally {
    closeSync(fd);
  }
  const log = readFileSync(logPath, "utf8");
  const conn = new OpenSshConnection(target, settings, argvOptions, logPath);
  conn.hostIdentity = hostKeysFromLog(log);
  if (r.code !== 0 || !existsSync(argvOptions.controlPath)) {
    await conn.close();
    if (r.timedOut) throw new UnreachableError(target.name, `timed out after ${deadlineMs / 1000} s connecting to ${where} (ssh)`);
    if (r.code === null) throw new UnreachableError(target.name, `cannot run ${sshProgram()} to connect to ${where}: is OpenSSH's client installed?`);
    throw classifySshFailure(target.name, where, log, argvOptions.connectTimeoutMs);
  }
  // ssh says nothing of how the handshake went without -v: connect covers key exchange and authentication.
  conn.timings = { connectMs: Math.round(performance.now() - started), authMs: 0 };
  const unverified = unverifiedFromLog(log);
  if (unverified) {
    conn.unverifiedHostKey = unverified;
    const what = unverified.presented === "changed" ? "DOES NOT MATCH the known key" : "is not known";
    const lookup = knownHostsLookupName(settings.hostname, settings.port, hostKeyAlias);
    o.warn?.(`${target.name}: host key for ${lookup} (${unverified.keyType} ${unverified.fingerprint}) ${what}; accepted because host key checking is off`);
  }
  return conn;
}
