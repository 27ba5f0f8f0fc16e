// Postfix's own protocol for replacing a configuration file (edit_file(3),
// what postconf -e, -X, -M, -F, -P... use): a writer of FILE opens FILE.tmp
// (created mode 0600), takes an exclusive flock(2) on it (Postfix's
// INTERNAL_LOCK on Linux; a `postconf -e` waits while another process holds
// one on main.cf.tmp), checks that FILE.tmp is still the file it locked (a
// writer that finished renamed it away: start over), only then reads FILE,
// writes the new text into FILE.tmp and renames it over FILE before it lets
// go. Whoever holds the lock on the current FILE.tmp is the only writer of
// FILE, and what it reads of FILE then is the last complete edit.
//
// The agent takes part when it puts a staged copy in place (staged-edit.ts):
// it holds the lock while it checks FILE and renames its copy over it, then
// removes FILE.tmp and closes it, so a postconf that waited on it finds it
// gone, starts over and reads the new FILE.
//
// Node has no flock(): as for the host lock (system/host-lock.ts), the agent opens the
// file itself and hands the descriptor to util-linux's flock(1) as its fd 3;
// flock(1) locks the shared open file description and exits, so the lock
// belongs to the agent's descriptor (close-on-exec) until it is closed.
import { spawn } from "node:child_process";
import { closeSync, constants, fstatSync, ftruncateSync, lstatSync, openSync, unlinkSync, type Stats } from "node:fs";
import { PostmultiFatal } from "../postmulti/messages.js";

/** flock(1) comes from the system directories only, never from a caller's PATH. */
const SYSTEM_PATH = "/usr/bin:/bin:/usr/sbin:/sbin";
/** The temporary file's mode while it is being written (edit_file.c's EDIT_FILE_MODE). */
const TMP_MODE = 0o600;

export type FlockOutcome = "locked" | "busy" | "cancelled" | { failed: string };

/**
 * An exclusive flock(2) on the open file description of `fd`, waiting at
 * most `waitMs` (0: not at all). Anything but "locked" leaves no lock once the
 * caller closes `fd` (a lock won just as the wait was given up goes with it).
 */
export function flockExclusive(fd: number, waitMs: number, signal?: AbortSignal): Promise<FlockOutcome> {
  if (signal?.aborted) return Promise.resolve("cancelled");
  const wait = waitMs > 0 ? ["-w", (waitMs / 1000).toFixed(3)] : ["-n"];
  return new Promise((resolve) => {
    let outcome: FlockOutcome | undefined;
    const child = spawn("flock", ["-x", ...wait, "3"], { stdio: ["ignore", "ignore", "ignore", fd], env: { PATH: SYSTEM_PATH } });
    const onAbort = () => {
      outcome ??= "cancelled";
      child.kill("SIGKILL");
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    child.on("error", (e) => (outcome ??= { failed: `flock(1) (util-linux) could not run: ${e.message}` }));
    child.on("close", (code) => {
      signal?.removeEventListener("abort", onAbort);
      // flock(1) exits 1 when -w or -n gives up; its own errors are 64 and up.
      resolve(outcome ?? (code === 0 ? "locked" : code === 1 ? "busy" : { failed: `flock(1) failed (exit ${code})` }));
    });
  });
}

export interface EditFileLock {
  /** FILE.tmp, locked. */
  path: string;
  /** Remove FILE.tmp and drop the lock (waiting writers start over). */
  release(): void;
}

function statOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch {
    return null;
  }
}

function unlinkIfThere(path: string): void {
  try {
    unlinkSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
}

/**
 * With the lock held on `fd`: is it the file at `path`, fit to be ours (then
 * emptied)? A file the writer we waited for renamed or removed is not (lock
 * the current one); one left in an odd state (a crash in the middle of a
 * rename) is removed, as postconf does, and is not either.
 */
function takeOver(fd: number, path: string): boolean {
  const locked = fstatSync(fd);
  const now = statOrNull(path);
  if (!now || now.ino !== locked.ino || now.dev !== locked.dev) return false;
  if (!now.isFile() || now.nlink > 1 || (now.mode & 0o7777) !== TMP_MODE) {
    unlinkIfThere(path);
    return false;
  }
  ftruncateSync(fd, 0);
  return true;
}

/**
 * Become the only writer of `file` in Postfix's protocol: lock `file`.tmp
 * as postconf does, waiting at most `waitMs` for a writer that holds it.
 * Throws PostmultiFatal with code "lock" when the wait times out, "cancelled"
 * when `signal` aborts it.
 */
export async function lockForEdit(file: string, waitMs: number, signal?: AbortSignal): Promise<EditFileLock> {
  const path = `${file}.tmp`;
  const deadline = Date.now() + waitMs;
  for (;;) {
    let fd: number;
    try {
      fd = openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, TMP_MODE);
    } catch (e) {
      throw new PostmultiFatal(`cannot open ${path}: ${(e as Error).message}`, "failed");
    }
    const outcome = await flockExclusive(fd, Math.max(0, deadline - Date.now()), signal);
    if (outcome !== "locked") {
      closeSync(fd);
      if (outcome === "cancelled") throw new PostmultiFatal(`cancelled while waiting for the lock on ${path}`, "cancelled");
      if (outcome === "busy") throw new PostmultiFatal(`timed out after ${waitMs} ms waiting for the lock on ${path}: another process (a postconf) is writing ${file}`, "lock");
      throw new PostmultiFatal(`cannot lock ${path}: ${outcome.failed}`, "failed");
    }
    let usable: boolean;
    try {
      usable = takeOver(fd, path);
    } catch (e) {
      closeSync(fd);
      throw new PostmultiFatal(`cannot use ${path}: ${(e as Error).message}`, "failed");
    }
    if (!usable) {
      closeSync(fd);
      continue;
    }
    let held = true;
    return {
      path,
      release() {
        if (!held) return;
        held = false;
        try {
          unlinkIfThere(path); // while still locked: nobody else can own the name yet
        } finally {
          closeSync(fd);
        }
      },
    };
  }
}
