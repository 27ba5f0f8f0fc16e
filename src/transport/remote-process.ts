// A command on the host: plain, or through sudo (become). With sudo we wrap
// the command as `sudo -H -S -p PROMPT -u USER -- sh -c 'echo MARKER; exec "$@"' sh ARGV...`:
// the password goes to sudo's stdin only when sudo shows our unique prompt on
// stderr, and the command's own output starts after MARKER, so a cached sudo
// ticket never swallows the password into the command's stdin. The password
// never appears in argv, logs or errors.
import { randomBytes } from "node:crypto";
import { PassThrough } from "node:stream";
import { finished } from "node:stream/promises";
import type { ClientChannel } from "ssh2";
import type { HostConnection } from "./ssh-connection.js";
import { BecomeError, OperationTimeoutError, UnreachableError } from "./errors.js";
import { buildCommand } from "./shell.js";

export interface BecomeOptions {
  /** Target user (default root). */
  user?: string;
  /** sudo password; without one sudo runs with -n and fails clearly if it wants a password. */
  password?: string;
}

export interface ExitStatus {
  exitCode: number | null;
  signal: string | null;
}

const STDERR_TAIL = 4000;

export class RemoteProcess {
  readonly stdout = new PassThrough();
  readonly stderr = new PassThrough();
  /** Resolves when the command has ended (channel closed). */
  readonly exited: Promise<ExitStatus>;
  private tail = "";
  private status: ExitStatus = { exitCode: null, signal: null };

  constructor(private readonly channel: ClientChannel) {
    this.exited = new Promise((resolve) => {
      channel.on("exit", (code: number | null, signal?: string) => {
        this.status = { exitCode: typeof code === "number" ? code : null, signal: signal ?? null };
      });
      channel.on("close", () => {
        this.stdout.end();
        this.stderr.end();
        resolve(this.status);
      });
    });
    this.stderr.on("data", (d: Buffer) => {
      this.tail = (this.tail + d.toString("utf8")).slice(-STDERR_TAIL);
    });
  }

  /** From now on the channel's output is the command's (after sudo let it start). */
  forward(restOut = ""): void {
    if (restOut) this.stdout.write(restOut);
    this.channel.on("data", (d: Buffer) => this.stdout.write(d));
    this.channel.stderr.on("data", (d: Buffer) => this.stderr.write(d));
  }

  /** The last few KB of stderr, for error messages. */
  stderrTail(): string {
    return this.tail;
  }

  write(data: string | Buffer): boolean {
    return this.channel.write(data);
  }

  end(data?: string | Buffer): void {
    if (data !== undefined) this.channel.end(data);
    else this.channel.end();
  }

  /** Ask the remote side to kill the command, then drop the channel. */
  kill(): void {
    try {
      this.channel.signal("KILL");
    } catch {
      // channel already gone
    }
    this.channel.close();
  }
}

export interface SpawnOptions {
  become?: boolean | BecomeOptions;
  /** Time allowed for sudo to accept (default 30 s). */
  becomeTimeoutMs?: number;
}

function normalizeBecome(b: SpawnOptions["become"]): BecomeOptions | null {
  if (!b) return null;
  return b === true ? {} : b;
}

/** The sudo command line around `argv`; exported for tests (it never contains the password). */
export function sudoCommand(argv: readonly string[], b: BecomeOptions, prompt: string, marker: string): string {
  const auth = b.password !== undefined ? ["-S", "-p", prompt] : ["-n"];
  return buildCommand([
    "sudo", "-H", ...auth, "-u", b.user ?? "root", "--",
    "sh", "-c", `echo ${marker}; exec "$@"`, "sh", ...argv,
  ]);
}

/** Start `argv` on the host, through sudo when asked; resolves once the command itself runs. */
export async function spawnRemote(conn: HostConnection, argv: readonly string[], o: SpawnOptions = {}): Promise<RemoteProcess> {
  const become = normalizeBecome(o.become);
  if (!become) {
    const proc = await conn.openChannel(buildCommand(argv), (ch) => new RemoteProcess(ch));
    proc.forward();
    return proc;
  }

  // With host key checking off, a host whose key changed may be an impostor: it gets no password.
  if (become.password !== undefined && conn.unverifiedHostKey?.presented === "changed") {
    const k = conn.unverifiedHostKey;
    throw new BecomeError(
      conn.target.name,
      `refusing to send the become password to ${conn.target.name}: its host key changed (now ${k.keyType} ${k.fingerprint}) ` +
        `and host key checking is off, so the host may not be who it claims; check the key and fix known_hosts first`,
    );
  }
  const nonce = randomBytes(12).toString("hex");
  const prompt = `[postfleet sudo ${nonce}] password: `;
  const marker = `POSTFLEET-BECOME-OK-${nonce}`;
  const { channel, proc } = await conn.openChannel(sudoCommand(argv, become, prompt, marker), (ch) => ({ channel: ch, proc: new RemoteProcess(ch) }));
  const host = conn.target.name;
  const who = `${conn.settings.user}@${host}`;
  const asUser = become.user ?? "root";

  return new Promise<RemoteProcess>((resolve, reject) => {
    let out = "";
    let err = "";
    let prompts = 0;
    let done = false;
    const timer = setTimeout(() => fail(new OperationTimeoutError(host, `sudo on ${host} did not start the command within ${(o.becomeTimeoutMs ?? 30_000) / 1000} s`)), o.becomeTimeoutMs ?? 30_000);
    const cleanup = () => {
      clearTimeout(timer);
      channel.off("data", onOut);
      channel.stderr.off("data", onErr);
      channel.off("close", onClose);
    };
    const fail = (e: Error) => {
      if (done) return;
      done = true;
      cleanup();
      proc.kill();
      reject(e);
    };
    const started = (restOut: string) => {
      done = true;
      cleanup();
      proc.forward(restOut);
      resolve(proc);
    };
    const sudoSays = () => err.split(prompt).join("").trim().replace(/\s+/g, " ");
    const onErr = (d: Buffer) => {
      err += d.toString("utf8");
      if (/a password is required/.test(err)) {
        return fail(new BecomeError(host, `sudo on ${host} requires a password for ${conn.settings.user} to become ${asUser}; set ansible_become_password (or --ask-become-pass)`));
      }
      const seen = err.split(prompt).length - 1;
      if (seen > prompts) {
        prompts = seen;
        if (prompts > 1) return fail(new BecomeError(host, `sudo on ${host}: the become password for ${who} was refused (incorrect password)`));
        channel.write(`${become.password ?? ""}\n`);
      }
    };
    const onOut = (d: Buffer) => {
      out += d.toString("utf8");
      const at = out.indexOf(`${marker}\n`);
      if (at >= 0) {
        // Text before the marker is sudo's (lecture); stderr so far is sudo's too.
        started(out.slice(at + marker.length + 1));
      }
    };
    const onClose = () => {
      const said = sudoSays();
      fail(new BecomeError(host, `sudo on ${host} failed for ${who} becoming ${asUser}${said ? `: ${said}` : ""}`));
    };
    channel.on("data", onOut);
    channel.stderr.on("data", onErr);
    channel.on("close", onClose);
  });
}

export interface ExecOptions extends SpawnOptions {
  stdin?: string | Buffer;
  /** Kill the command after this long; 0/undefined: no limit. */
  timeoutMs?: number;
}

export interface ExecResult extends ExitStatus {
  stdout: string;
  stderr: string;
}

/** Run `argv` to completion, collecting its output. A non-zero exit is a result, not an error. */
export async function execRemote(conn: HostConnection, argv: readonly string[], o: ExecOptions = {}): Promise<ExecResult> {
  const proc = await spawnRemote(conn, argv, o);
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  proc.stdout.on("data", (d: Buffer) => out.push(d));
  proc.stderr.on("data", (d: Buffer) => err.push(d));
  if (o.stdin !== undefined) proc.end(o.stdin);
  else proc.end();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    if (o.timeoutMs && o.timeoutMs > 0) {
      timer = setTimeout(() => {
        proc.kill();
        reject(new OperationTimeoutError(conn.target.name, `command on ${conn.target.name} timed out after ${o.timeoutMs! / 1000} s: ${argv[0]}`));
      }, o.timeoutMs);
    }
  });
  try {
    const status = await Promise.race([proc.exited, timedOut]);
    // Output, exit status and close can arrive in one batch: let the streams drain first.
    await Promise.all([finished(proc.stdout), finished(proc.stderr)]);
    if (status.exitCode === null && status.signal === null) {
      // No exit status at all: the channel went away, usually with the connection.
      await new Promise((r) => setTimeout(r, 50));
      if (!conn.isOpen) throw new UnreachableError(conn.target.name, `connection to ${conn.target.name} was lost while running ${argv[0]}`);
    }
    return { ...status, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") };
  } finally {
    clearTimeout(timer);
  }
}
