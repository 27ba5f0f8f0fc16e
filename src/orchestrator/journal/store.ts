// Where runs are kept and how their journals are written and read:
// $XDG_STATE_HOME/postfleet/runs/<run-id>/journal.jsonl (default
// ~/.local/state), directories 0700, files 0600. A journal is append-only
// JSON Lines. Every record is written (write(2)) before the run goes on, so a
// controller killed at any moment leaves every transition it had made; and it
// is on disk (fsync) before the next request of any host leaves the
// controller (RunEvents.holdRequests), so a machine that crashes does too. The
// records of one moment share one fsync (group commit): a blocking fsync per
// record held the whole event loop, one host after another.
import { closeSync, existsSync, fsync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeSync, fchmodSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { randomBytes } from "node:crypto";
import { maskSecrets } from "./meta.js";
import type { RecordBody, RunRecord } from "./records.js";

export const JOURNAL_FILE = "journal.jsonl";
export const DEFAULT_KEEP_RUNS = 50;
export const DEFAULT_MAX_AGE_DAYS = 90;

/** $XDG_STATE_HOME/postfleet/runs, XDG_STATE_HOME defaulting to ~/.local/state (a relative value is ignored, as the spec says). */
export function runsDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_STATE_HOME;
  const state = xdg && xdg.startsWith("/") ? xdg : join(env.HOME || homedir(), ".local", "state");
  return join(state, "postfleet", "runs");
}

/** Sortable by start: UTC timestamp to the ms, then random (two runs in one ms still differ). */
export function newRunId(now = new Date()): string {
  const t = now.toISOString().replace(/[-:]/g, "").replace(".", "");
  return `${t}-${randomBytes(3).toString("hex")}`;
}

const RUN_ID = /^\d{8}T\d{9}Z-[0-9a-f]{6}$/;
export function isRunId(s: string): boolean {
  return RUN_ID.test(s);
}

export class JournalError extends Error {}

/** A place records go: the journal file (fsync'd) or an --events stream. */
export interface RecordSink {
  write(line: string): void;
  close(): void;
  /** The journal: resolves once every line written so far is on disk; rejects when fsync fails. */
  durable?(): Promise<void>;
  /** The journal: every line written so far on disk now (the first record: a run whose journal cannot be kept never starts). */
  syncNow?(): void;
}

function syncDirectory(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** The journal of a new run: creates its directory and file (0700/0600); throws JournalError when it cannot. */
export function createJournalFile(dir: string, runId: string): RecordSink & { path: string } {
  const runDir = join(dir, runId);
  const path = join(runDir, JOURNAL_FILE);
  let fd: number;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    mkdirSync(runDir, { mode: 0o700 });
    fd = openSync(path, "wx", 0o600);
    fchmodSync(fd, 0o600);
    // The new entries (the run's directory, its journal) are on disk before the first record is.
    for (const d of [runDir, dir]) syncDirectory(d);
  } catch (err) {
    throw new JournalError(`cannot create the run's journal ${path}: ${(err as Error).message}`);
  }
  return fsyncedSink(path, fd);
}

/** A stored run's journal, opened to append (a resume goes on writing the same run); throws JournalError when it cannot. */
export function appendJournalFile(path: string): RecordSink & { path: string } {
  try {
    return fsyncedSink(path, openSync(path, "a", 0o600));
  } catch (err) {
    throw new JournalError(`cannot append to the run's journal ${path}: ${(err as Error).message}`);
  }
}

/** How the journal's lines reach the disk; tests count the calls. */
export type FsyncFn = (fd: number, done: (err: NodeJS.ErrnoException | null) => void) => void;

/**
 * The journal file: lines written at once, fsync'd in groups. `durable()`
 * waits for an fsync begun after the last line written so far; callers that
 * wait at the same time share it, and lines written while one runs are
 * covered by the next.
 */
export function fsyncedSink(path: string, fd: number, fsyncFn: FsyncFn = fsync): RecordSink & { path: string } {
  let written = 0;
  let synced = 0;
  let inFlight: Promise<void> | undefined;
  let failed: Error | undefined;
  let closed = false;
  const round = (): Promise<void> => {
    const upTo = written;
    return (inFlight = new Promise<void>((resolve) => {
      fsyncFn(fd, (err) => {
        inFlight = undefined;
        if (err && !closed) failed ??= err;
        else if (!err) synced = Math.max(synced, upTo);
        resolve();
      });
    }));
  };
  return {
    path,
    write(line) {
      let off = 0;
      const buf = Buffer.from(line);
      while (off < buf.length) off += writeSync(fd, buf, off);
      written++;
    },
    async durable() {
      const target = written;
      while (synced < target) {
        if (failed) throw failed;
        await (inFlight ?? round());
      }
    },
    syncNow() {
      fsyncSync(fd);
      synced = written;
    },
    close() {
      if (closed) return;
      closed = true;
      try {
        if (synced < written && !failed) fsyncSync(fd);
        synced = written;
      } catch {
        // the records are written; a disk that cannot flush them was reported by durable() already
      }
      try {
        closeSync(fd);
      } catch {
        // already closed
      }
    },
  };
}

/**
 * Numbers, stamps and writes records to every sink. The first sink is the
 * journal: a failure to write it is reported once through `onJournalError`
 * (the caller stops starting hosts) and no further journal write is tried.
 * Other sinks (--events) that fail are dropped silently after one report.
 */
export class RecordWriter {
  private seq: number;
  private first = true;
  private journalBroken: Error | undefined;
  private readonly live: Array<RecordSink | undefined>;

  constructor(
    sinks: RecordSink[],
    private readonly onError: (sink: number, err: Error) => void = () => undefined,
    /** False when there is no journal (read-only commands): the first sink is then an --events stream like the others. */
    private readonly journalFirst = true,
    /** The last seq already in the journal (a resume numbers on from there). */
    lastSeq = 0,
    /** Secret values (secret-looking extra vars) masked wherever they appear in a record. */
    private readonly secrets: readonly string[] = [],
  ) {
    this.seq = lastSeq;
    this.live = [...sinks];
    const first = sinks[0] as (RecordSink & { path?: unknown }) | undefined;
    this.runDir = journalFirst && typeof first?.path === "string" ? dirname(first.path) : undefined;
  }

  /** The run's directory (beside its journal), when there is a journal file. */
  readonly runDir: string | undefined;

  get journalError(): Error | undefined {
    return this.journalBroken;
  }

  /** Write one record; throws only for the very first record (run_start, resume), so that a run whose journal cannot be written never starts. */
  write(body: RecordBody): RunRecord {
    const record = { seq: ++this.seq, ts: new Date().toISOString(), ...body } as RunRecord;
    const first = this.first;
    this.first = false;
    const line = `${JSON.stringify(maskSecrets(record, this.secrets))}\n`;
    for (const [i, sink] of this.live.entries()) {
      if (!sink) continue;
      try {
        sink.write(line);
        // The first record on disk before anything else happens (run_start: before any host is touched).
        if (first && i === 0 && this.journalFirst) sink.syncNow?.();
      } catch (err) {
        const e = err instanceof Error ? err : new Error(String(err));
        if (first && i === 0 && this.journalFirst) throw new JournalError(`cannot write the run's journal: ${e.message}`);
        this.live[i] = undefined;
        if (i === 0 && this.journalFirst) this.journalBroken = e;
        this.onError(i, e);
      }
    }
    return record;
  }

  /**
   * Resolves once every record written so far is on the journal's disk. A
   * journal that cannot be flushed is reported like one that cannot be
   * written (the caller stops starting hosts); this never rejects.
   */
  async durable(): Promise<void> {
    const journal = this.journalFirst ? this.live[0] : undefined;
    if (!journal?.durable) return;
    try {
      await journal.durable();
    } catch (err) {
      if (this.live[0] !== journal) return; // reported by an earlier waiter
      const e = err instanceof Error ? err : new Error(String(err));
      this.live[0] = undefined;
      this.journalBroken = e;
      this.onError(0, e);
    }
  }

  close(): void {
    for (const s of this.live) s?.close();
  }
}

/** Records of a journal file; a last line cut short by a crash is ignored. */
export function readJournal(path: string): RunRecord[] {
  const text = readFileSync(path, "utf8");
  const out: RunRecord[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as RunRecord);
    } catch {
      break; // a torn last write
    }
  }
  return out;
}

/** The ids of the stored runs, newest first. */
export function listRunIds(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((n) => isRunId(n) && existsSync(join(dir, n, JOURNAL_FILE)))
    .sort()
    .reverse();
}

/** Linux: a process's start time in clock ticks since boot (field 22 of /proc/PID/stat); undefined elsewhere. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may hold spaces and parentheses: count fields after its last ')'.
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return rest[19];
  } catch {
    return undefined;
  }
}

/** Is the process that wrote a journal still the same live process (not a reused pid)? Only on this controller host. */
export function writerAlive(c: { hostname: string; pid: number; startTime?: string | undefined }, thisHost: string): boolean {
  if (c.hostname !== thisHost) return true; // another machine's run: cannot tell, assume it is going
  try {
    process.kill(c.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  const now = processStartTime(c.pid);
  return c.startTime === undefined || now === undefined || now === c.startTime;
}

export interface PruneOptions {
  keep: number;
  maxAgeDays: number;
  /** Runs never pruned (e.g. still running). */
  spare?: (id: string) => boolean;
  now?: number;
}

/** Keep the newest `keep` runs and none older than `maxAgeDays` (0: no age limit); returns the ids removed. */
export function pruneRuns(dir: string, o: PruneOptions): string[] {
  const now = o.now ?? Date.now();
  const removed: string[] = [];
  for (const [i, id] of listRunIds(dir).entries()) {
    const ageDays = (now - runIdTime(id)) / 86_400_000;
    const old = i >= o.keep || (o.maxAgeDays > 0 && ageDays > o.maxAgeDays);
    if (!old || o.spare?.(id)) continue;
    rmSync(join(dir, id), { recursive: true, force: true });
    removed.push(id);
  }
  return removed;
}

function runIdTime(id: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})Z/.exec(id);
  return m ? Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!, +m[7]!) : 0;
}

/** POSTFLEET_RUNS_KEEP and POSTFLEET_RUNS_MAX_AGE_DAYS, else the defaults. */
export function pruneSettings(env: NodeJS.ProcessEnv = process.env): { keep: number; maxAgeDays: number } {
  const num = (name: string, dflt: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === "") return dflt;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0) throw new JournalError(`${name} must be a whole number >= 0, not '${raw}'`);
    return n;
  };
  return { keep: Math.max(1, num("POSTFLEET_RUNS_KEEP", DEFAULT_KEEP_RUNS)), maxAgeDays: num("POSTFLEET_RUNS_MAX_AGE_DAYS", DEFAULT_MAX_AGE_DAYS) };
}

/** Is `path` a directory we could hash? */
export function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
