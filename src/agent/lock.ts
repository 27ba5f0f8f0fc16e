// An exclusive per-host lock around configuration edits. postmulti itself
// has none ("XXX: No multi.cf lock file, so this is not race-free").
//
// Design: a lock file created with O_CREAT|O_EXCL in a root-only directory
// (/run/postfleet, mode 0700, owned by root; refused if anyone else could
// write it). The file holds the holder's pid, its start time from
// /proc/PID/stat (so a recycled pid is not mistaken for the holder) and a
// random token. A waiter that finds the holder dead removes the stale file
// and retries. A nested agent (a `postmulti -x` command that runs the agent
// again, e.g. `postfix reload` through multi_instance_wrapper) finds the
// holder among its own ancestors and does not wait for its own parent; no
// environment variable is added, so -x commands see postmulti's environment.
// Waiting is asynchronous: a serve-mode agent keeps reading requests (cancel)
// while it waits. Every lock this process holds is released when it exits.
import { randomBytes } from "node:crypto";
import { closeSync, lstatSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync, constants } from "node:fs";
import { PostmultiFatal } from "./messages.js";

export interface LockInfo {
  pid: number;
  start: string;
  token: string;
  since: string;
  what: string;
}

export interface HeldLock {
  token: string;
  /** The lock file. */
  path: string;
  /** True when this process did not take the lock itself (nested in a holder). */
  inherited: boolean;
  release(): void;
}

export function lockDirectory(): string {
  return process.env.POSTFLEET_LOCK_DIR ?? "/run/postfleet";
}

function processStart(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Field 22 (starttime), counted after the parenthesized command name.
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return rest[19] ?? null;
  } catch {
    return null;
  }
}

function alive(info: LockInfo): boolean {
  try {
    process.kill(info.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ESRCH") return false;
  }
  const start = processStart(info.pid);
  return start === null || info.start === "" || start === info.start;
}

/** Pids of this process's ancestors, from /proc. */
function ancestors(): number[] {
  const out: number[] = [];
  let pid = process.ppid;
  while (pid > 1 && out.length < 64) {
    out.push(pid);
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      pid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    } catch {
      break;
    }
  }
  return out;
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** Locks this process holds, released on exit (see releaseAllLocks). */
const held = new Set<HeldLock>();

/** Release every lock this process took (exit, fatal signal). Synchronous, for process.on("exit"). */
export function releaseAllLocks(): void {
  for (const l of [...held]) l.release();
}

function ensureDirectory(dir: string): void {
  try {
    mkdirSync(dir, { mode: 0o700, recursive: true });
  } catch (e) {
    throw new PostmultiFatal(`cannot create lock directory ${dir}: ${(e as Error).message}`, "lock");
  }
  const st = lstatSync(dir);
  const euid = process.geteuid?.() ?? 0;
  if (!st.isDirectory() || st.uid !== euid || (st.mode & 0o022) !== 0)
    throw new PostmultiFatal(
      `unsafe lock directory ${dir}: must be a directory owned by uid ${euid}, not writable by group or others`,
      "lock",
    );
}

function readInfo(path: string): LockInfo | null {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as LockInfo;
  } catch {
    return null;
  }
}

export interface LockOptions {
  /** Lock directory (default lockDirectory()). */
  dir?: string;
  /** Stop waiting: throws PostmultiFatal with code "cancelled". */
  signal?: AbortSignal;
}

/**
 * Take the host lock, waiting at most `timeoutMs`. Throws PostmultiFatal with
 * code "lock" on timeout, naming the holder.
 */
export async function acquireLock(what: string, timeoutMs: number, o: LockOptions = {}): Promise<HeldLock> {
  const dir = o.dir ?? lockDirectory();
  const path = `${dir}/agent.lock`;
  ensureDirectory(dir);
  const current = readInfo(path);
  if (current && alive(current) && ancestors().includes(current.pid))
    return { token: current.token, path, inherited: true, release: () => {} };
  const token = randomBytes(12).toString("hex");
  const info: LockInfo = {
    pid: process.pid,
    start: processStart(process.pid) ?? "",
    token,
    since: new Date().toISOString(),
    what,
  };
  const deadline = Date.now() + timeoutMs;
  let delay = 20;
  for (;;) {
    try {
      const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
      writeSync(fd, JSON.stringify(info) + "\n");
      closeSync(fd);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST")
        throw new PostmultiFatal(`cannot create lock file ${path}: ${(e as Error).message}`, "lock");
    }
    const holder = readInfo(path);
    if (holder === null) {
      // Being written right now, or garbage left by a crash between open and write.
      const age = safeAge(path);
      if (age !== null && age > 5000) removeIfSame(path, null);
    } else if (!alive(holder)) {
      removeIfSame(path, holder.token);
      continue;
    }
    if (Date.now() >= deadline) {
      const who = holder ? `pid ${holder.pid} (${holder.what}, since ${holder.since})` : "another agent";
      throw new PostmultiFatal(`timed out after ${timeoutMs} ms waiting for the host lock ${path} held by ${who}`, "lock");
    }
    if (o.signal?.aborted) throw new PostmultiFatal(`cancelled while waiting for the host lock ${path}`, "cancelled");
    await sleep(Math.min(delay, Math.max(1, deadline - Date.now())), o.signal);
    if (o.signal?.aborted) throw new PostmultiFatal(`cancelled while waiting for the host lock ${path}`, "cancelled");
    delay = Math.min(delay * 2, 250);
  }
  const lock: HeldLock = {
    token,
    path,
    inherited: false,
    release() {
      if (!held.delete(lock)) return;
      removeIfSame(path, token);
    },
  };
  held.add(lock);
  return lock;
}

/** Run `body` under the host lock, taken for it alone. */
export async function withLock<T>(what: string, timeoutMs: number, body: () => Promise<T>, o: LockOptions = {}): Promise<T> {
  const lock = await acquireLock(what, timeoutMs, o);
  try {
    return await body();
  } finally {
    lock.release();
  }
}

function safeAge(path: string): number | null {
  try {
    return Date.now() - lstatSync(path).mtimeMs;
  } catch {
    return null;
  }
}

/** Remove the lock file only if it still carries `token` (null: unreadable). */
function removeIfSame(path: string, token: string | null): void {
  const now = readInfo(path);
  if ((now === null && token === null) || (now !== null && now.token === token)) {
    try {
      unlinkSync(path);
    } catch {
      /* someone else removed it first */
    }
  }
}
