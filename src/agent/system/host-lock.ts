// An exclusive per-host lock around configuration edits. postmulti itself
// has none ("XXX: No multi.cf lock file, so this is not race-free").
//
// Design: an flock(2) lock on /run/postfleet/agent.lock (a root-only
// directory, mode 0700, owned by root; refused if anyone else could write
// it). The kernel releases it when the holder's last descriptor closes, i.e.
// at the latest when the holder dies, however it dies: there is no stale
// lock to detect or remove, so there cannot be two holders. Node has no
// flock(), so the agent opens the file itself and hands that descriptor to
// util-linux's flock(1) as its fd 3: flock(1) locks the shared open file
// description and exits, and the lock then belongs to the agent's own
// descriptor (opened close-on-exec: the commands the agent runs never
// inherit it). Waiting is flock(1) blocking in the kernel; a timeout or a
// cancel kills it, and the agent's event loop keeps running meanwhile.
//
// The holder unlinks the file before it closes it, and a taker checks that
// the file it locked is still the one at the path (else it locks again), so
// the file exists while the lock is held (or after a holder died: the next
// taker uses it as is). Its content is only information for waiters and
// nested agents: the holder's pid, its start time from /proc/PID/stat (a
// recycled pid is not mistaken for the holder), a random token, since when
// and what for, written once the lock is held. A nested agent (a
// `postmulti -x` command that runs the agent again, e.g. `postfix reload`
// through multi_instance_wrapper) finds the holder among its own ancestors
// and does not wait for its own parent; no environment variable is added,
// so -x commands see postmulti's environment.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, constants, fstatSync, ftruncateSync, lstatSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { ensureRunDir, ROOT_RUN_DIR } from "./run-dir.js";
import { PostmultiFatal } from "../postmulti/messages.js";

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
  return process.env.POSTFLEET_LOCK_DIR ?? ROOT_RUN_DIR;
}

/** flock(1) is looked up here only: never on a caller's PATH (the agent runs as root). */
const FLOCK_PATH = "/usr/bin:/bin:/usr/sbin:/sbin";

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

/** Locks this process holds, and flock(1) children still waiting for one. */
const held = new Set<HeldLock>();
const waiting = new Set<ChildProcess>();

/**
 * Release every lock this process took and stop every wait (exit, fatal
 * signal). Synchronous, for process.on("exit"); the kernel would release the
 * locks anyway when the process ends.
 */
export function releaseAllLocks(): void {
  for (const l of [...held]) l.release();
  for (const c of [...waiting]) c.kill("SIGKILL");
}

function ensureDirectory(dir: string): void {
  const euid = process.geteuid?.() ?? 0;
  try {
    // The same directory a root resident agent listens in: created and checked one way (run-dir.ts).
    ensureRunDir(dir, euid);
  } catch (e) {
    const st = (() => {
      try {
        return lstatSync(dir);
      } catch {
        return undefined;
      }
    })();
    if (!st) throw new PostmultiFatal(`cannot create lock directory ${dir}: ${(e as Error).message}`, "lock");
    throw new PostmultiFatal(`unsafe lock directory ${dir}: must be a directory owned by uid ${euid}, not writable by group or others`, "lock");
  }
}

function readInfo(path: string): LockInfo | null {
  try {
    const info = JSON.parse(readFileSync(path, "utf8")) as LockInfo;
    return typeof info?.pid === "number" ? info : null;
  } catch {
    return null; // empty (free, or a holder that died), or being written
  }
}

/** Open (creating) the lock file: a regular file owned by us, never through a symlink. */
function openLockFile(path: string): number {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
  } catch (e) {
    throw new PostmultiFatal(`cannot open lock file ${path}: ${(e as Error).message}`, "lock");
  }
  const st = fstatSync(fd);
  if (!st.isFile() || st.uid !== (process.geteuid?.() ?? 0)) {
    closeSync(fd);
    throw new PostmultiFatal(`unsafe lock file ${path}: must be a regular file owned by uid ${process.geteuid?.() ?? 0}`, "lock");
  }
  return fd;
}

/** The descriptor is still the file at `path` (not one unlinked by a releasing holder). */
function isCurrentFile(fd: number, path: string): boolean {
  try {
    const a = fstatSync(fd);
    const b = lstatSync(path);
    return a.ino === b.ino && a.dev === b.dev;
  } catch {
    return false;
  }
}

type FlockEnd = { kind: "locked" } | { kind: "timeout" } | { kind: "cancelled" } | { kind: "failed"; why: string };

/**
 * flock(1) on our descriptor (its fd 3): resolves when the open file
 * description is locked, or when the wait ends otherwise (the child is
 * killed, and the description is then closed by the caller).
 */
function flockDescriptor(fd: number, timeoutMs: number, signal?: AbortSignal): Promise<FlockEnd> {
  if (signal?.aborted) return Promise.resolve({ kind: "cancelled" });
  return new Promise((resolve) => {
    // flock(1) times the wait itself (-w, fractional seconds), from when it
    // runs: a slow start is not counted, and it gives up even should this
    // agent die while it waits. No wait at all: -n.
    const finite = Number.isFinite(timeoutMs);
    const wait = timeoutMs <= 0 ? ["-n"] : finite ? ["-w", (timeoutMs / 1000).toFixed(3)] : [];
    let child: ChildProcess;
    try {
      child = spawn("flock", ["-x", ...wait, "3"], { stdio: ["ignore", "ignore", "ignore", fd], env: { PATH: FLOCK_PATH } });
    } catch (e) {
      resolve({ kind: "failed", why: (e as Error).message });
      return;
    }
    waiting.add(child);
    let ended: FlockEnd | null = null;
    const stop = (why: FlockEnd) => {
      ended ??= why;
      child.kill("SIGKILL");
    };
    // A backstop only: flock(1) that never returns is a failure too.
    const timer = timeoutMs > 0 && finite ? setTimeout(() => stop({ kind: "timeout" }), timeoutMs + 30_000) : undefined;
    const onAbort = () => stop({ kind: "cancelled" });
    signal?.addEventListener("abort", onAbort, { once: true });
    let spawnError: Error | null = null;
    child.on("error", (e) => (spawnError = e));
    child.on("close", (code) => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      waiting.delete(child);
      // A lock won just as the wait was given up is dropped with the descriptor.
      if (ended) resolve(ended);
      else if (spawnError) resolve({ kind: "failed", why: `flock(1) (util-linux) could not run: ${(spawnError as Error).message}` });
      else if (code === 0) resolve({ kind: "locked" });
      // 1: -w or -n gave up (its errors have sysexits codes, 64 and up).
      else if (code === 1) resolve({ kind: "timeout" });
      else resolve({ kind: "failed", why: `flock(1) failed (exit ${code})` });
    });
  });
}

export interface LockOptions {
  /** Lock directory (default lockDirectory()). */
  dir?: string;
  /** Stop waiting: throws PostmultiFatal with code "cancelled". */
  signal?: AbortSignal;
}

/**
 * Take the host lock, waiting at most `timeoutMs`. Throws PostmultiFatal with
 * code "lock" on timeout, naming the holder, and "cancelled" when `signal`
 * aborts the wait.
 */
export async function acquireLock(what: string, timeoutMs: number, o: LockOptions = {}): Promise<HeldLock> {
  const dir = o.dir ?? lockDirectory();
  const path = `${dir}/agent.lock`;
  ensureDirectory(dir);
  const current = readInfo(path);
  if (current && alive(current) && ancestors().includes(current.pid))
    return { token: current.token, path, inherited: true, release: () => {} };
  const deadline = Date.now() + timeoutMs;
  let fd: number;
  for (;;) {
    fd = openLockFile(path);
    const end = await flockDescriptor(fd, Math.max(0, deadline - Date.now()), o.signal);
    if (end.kind === "locked" && isCurrentFile(fd, path)) break;
    closeSync(fd);
    // Locked a file its holder had already unlinked on release: lock the current one.
    if (end.kind === "locked") continue;
    if (end.kind === "cancelled") throw new PostmultiFatal(`cancelled while waiting for the host lock ${path}`, "cancelled");
    if (end.kind === "failed") throw new PostmultiFatal(`cannot lock ${path}: ${end.why}`, "lock");
    const holder = readInfo(path);
    const who = holder && alive(holder) ? `pid ${holder.pid} (${holder.what}, since ${holder.since})` : "another agent";
    throw new PostmultiFatal(`timed out after ${timeoutMs} ms waiting for the host lock ${path} held by ${who}`, "lock");
  }
  const token = randomBytes(12).toString("hex");
  const info: LockInfo = { pid: process.pid, start: processStart(process.pid) ?? "", token, since: new Date().toISOString(), what };
  ftruncateSync(fd, 0);
  writeSync(fd, JSON.stringify(info) + "\n", 0);
  let open = true;
  const lock: HeldLock = {
    token,
    path,
    inherited: false,
    release() {
      if (!open) return;
      open = false;
      held.delete(lock);
      // Unlinked while still locked (a waiter on this file then sees it is
      // gone and retries), so the file exists only while someone holds the
      // lock, or after a holder died (the next one simply takes it over).
      try {
        unlinkSync(path);
      } catch {
        /* already gone: nothing to name */
      } finally {
        closeSync(fd); // the kernel drops the lock with the last descriptor
      }
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
