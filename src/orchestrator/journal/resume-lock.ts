// One resume of a run at a time: a lock file in the run's directory, made
// with O_EXCL and holding its owner (host name, pid, process start time). A
// lock whose owner is gone (SIGKILL, a crash) is taken over; one whose owner
// lives makes the second resume refuse, so no work is ever done twice.
import { closeSync, linkSync, openSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { JournalError, processStartTime, writerAlive } from "./store.js";

export const RESUME_LOCK = "resume.lock";

interface Owner {
  hostname: string;
  pid: number;
  startTime?: string;
  since: string;
}

export interface ResumeLock {
  release(): void;
}

function readOwner(path: string): Owner | undefined {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as Owner;
  } catch {
    return undefined; // gone, or cut short by a crash while being written
  }
}

function tryCreate(path: string, me: Owner): boolean {
  let fd: number;
  try {
    fd = openSync(path, "wx", 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw new JournalError(`cannot create ${path}: ${(err as Error).message}`);
  }
  try {
    writeSync(fd, JSON.stringify(me));
  } finally {
    closeSync(fd);
  }
  return true;
}

/** Take the run's resume lock, or throw JournalError naming the process that holds it. */
export function acquireResumeLock(runDir: string, thisHost = hostname()): ResumeLock {
  const path = join(runDir, RESUME_LOCK);
  const st = processStartTime(process.pid);
  const me: Owner = { hostname: thisHost, pid: process.pid, ...(st ? { startTime: st } : {}), since: new Date().toISOString() };
  for (let attempt = 0; attempt < 2; attempt++) {
    if (tryCreate(path, me)) return { release: () => releaseIfMine(path, me) };
    const owner = readOwner(path);
    if (owner && writerAlive(owner, thisHost)) {
      throw new JournalError(`this run is being resumed by another postfleet (pid ${owner.pid} on ${owner.hostname}, since ${owner.since}); nothing was started (lock ${path})`);
    }
    // A stale lock: move it aside, and take it over only if what was moved is still the stale one
    // (another resume may have taken it over between our read and the move: then put theirs back).
    const aside = `${path}.stale-${process.pid}`;
    try {
      renameSync(path, aside);
    } catch {
      continue; // someone else moved it first: try again
    }
    const moved = readOwner(aside);
    if (owner && moved && (moved.pid !== owner.pid || moved.since !== owner.since)) {
      try {
        linkSync(aside, path);
      } catch {
        // a third one created a lock meanwhile: theirs stands
      }
      rmSync(aside, { force: true });
      throw new JournalError(`this run is being resumed by another postfleet (pid ${moved.pid} on ${moved.hostname}); nothing was started (lock ${path})`);
    }
    rmSync(aside, { force: true });
  }
  throw new JournalError(`cannot take the resume lock ${path}: another postfleet keeps taking it; nothing was started`);
}

function releaseIfMine(path: string, me: Owner): void {
  const owner = readOwner(path);
  if (owner && owner.pid === me.pid && owner.since === me.since) rmSync(path, { force: true });
}
