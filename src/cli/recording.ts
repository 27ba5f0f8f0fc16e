// A command-line run's records: its journal (every run that can change
// something), --events (JSON Lines while it runs) and --junit (at the end).
// The journal is created and its first record fsync'd before any host is
// touched: if that fails, the run does not start (exit 1). If a write fails
// later, the run starts no new host, lets the hosts in progress finish, and
// says so (the run ends aborted, exit 4).
import { closeSync, existsSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { hostname, userInfo } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { attachRecorder } from "../orchestrator/journal/recorder.js";
import { plannedPlays, redactArgv, redactVars, secretValues, sha256, sourceHash } from "../orchestrator/journal/meta.js";
import type { PlannedPlay, RecordOf } from "../orchestrator/journal/records.js";
import { loadRun } from "../orchestrator/journal/rebuild.js";
import { createJournalFile, listRunIds, newRunId, processStartTime, pruneRuns, pruneSettings, RecordWriter, runsDir, type RecordSink } from "../orchestrator/journal/store.js";
import type { RunDocument } from "../orchestrator/run-document.js";
import { inventorySources, loadAnsibleConfig } from "../inventory/index.js";
import { renderJunit } from "../report/junit.js";
import type { CliRun } from "./make-run.js";
import type { HostArgs } from "./host-args.js";
import { UsageError } from "./host-args.js";

export interface OutputArgs {
  events?: string;
  junit?: string;
}

/** Where human output goes: stderr when --events - holds stdout. */
export function humanStream(args: OutputArgs): NodeJS.WriteStream {
  return args.events === "-" ? process.stderr : process.stdout;
}

/** --events - and --json both want stdout. */
export function checkOutputArgs(args: OutputArgs & { json?: boolean }): void {
  if (args.events === "-" && args.json) throw new UsageError("--events - and --json both print on stdout: give --events a FILE");
}

let cachedVersion: string | undefined;
export function postfleetVersion(): string {
  if (cachedVersion) return cachedVersion;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++, dir = dirname(dir)) {
    const p = join(dir, "package.json");
    if (!existsSync(p)) continue;
    try {
      const pkg = JSON.parse(readFileSync(p, "utf8")) as { name?: string; version?: string };
      if (pkg.name === "postfleet" && pkg.version) return (cachedVersion = pkg.version);
    } catch {
      // not ours
    }
  }
  return (cachedVersion = "unknown");
}

/** An --events sink: stdout for `-`, else FILE (created 0600, truncated). */
export function eventsSink(target: string): RecordSink {
  if (target === "-") return { write: (line) => void process.stdout.write(line), close: () => undefined };
  let fd: number;
  try {
    fd = openSync(resolve(target), "w", 0o600);
  } catch (err) {
    throw new UsageError(`--events: cannot write ${target}: ${(err as Error).message}`);
  }
  return {
    write: (line) => void writeSync(fd, line),
    close: () => closeSync(fd),
  };
}

export interface RecordingPlan {
  kind: "playbook" | "operation";
  /** The document's `command`. */
  command: string;
  /** False for read-only commands (postmulti -l, -p status): events and JUnit only, no journal. */
  journal: boolean;
  args: HostArgs & OutputArgs;
  playbook?: string;
  check?: boolean;
  extraVars?: Record<string, unknown>;
  plays?: Parameters<typeof plannedPlays>[0];
}

export interface Recording {
  runId: string | undefined;
  /** After the run: detach, close, write --junit. */
  finish(doc: RunDocument): void;
}

/** Start recording `ctx`'s run: journal (unless read-only), --events, --junit. Throws UsageError when the journal cannot be written. */
export function startRecording(ctx: CliRun, plan: RecordingPlan): Recording {
  checkOutputArgs({ ...plan.args, json: ctx.json });
  const sinks: RecordSink[] = [];
  let runId: string | undefined;
  let journalPath: string | undefined;
  // --events first: a bad FILE is a usage error that leaves no empty journal behind.
  const events = plan.args.events ? eventsSink(plan.args.events) : undefined;
  if (plan.journal) {
    const dir = runsDir();
    runId = newRunId();
    try {
      pruneOld(dir);
      const j = createJournalFile(dir, runId);
      journalPath = j.path;
      sinks.push(j);
    } catch (err) {
      throw new UsageError(`${(err as Error).message}; nothing was started (set XDG_STATE_HOME to a writable place)`);
    }
  }
  if (events) sinks.push(events);
  const writer = new RecordWriter(sinks, (i, err) => {
    if (plan.journal && i === 0) {
      process.stderr.write(`postfleet: error: the run's journal ${journalPath} cannot be written (${err.message}): starting no new host, the hosts in progress finish\n`);
      ctx.run.halt("journal write failed");
    } else process.stderr.write(`postfleet: warning: --events ${plan.args.events}: ${err.message}; no further events written\n`);
  }, plan.journal, 0, secretValues(plan.extraVars ?? {}));
  try {
    writer.write(runStart(ctx, plan, runId ?? "none"));
  } catch (err) {
    writer.close();
    // A journal without its start record is no run: leave nothing behind (best effort: the disk may be full or gone).
    try {
      if (journalPath) rmSync(dirname(journalPath), { recursive: true, force: true });
    } catch {
      // a read-only file system: the empty journal stays, and `runs` ignores it
    }
    throw new UsageError(`${(err as Error).message} (${journalPath}); nothing was started`);
  }
  if (runId) ctx.verbose(1, `postfleet: run ${runId}, journal ${journalPath}`);
  const detach = attachRecorder(ctx.run.events, writer, ctx.run.settings.stop);
  return {
    runId,
    finish(doc) {
      detach();
      writer.close();
      if (plan.args.junit) writeFileSync(plan.args.junit, renderJunit(doc));
    },
  };
}

function runStart(ctx: CliRun, plan: RecordingPlan, runId: string): Omit<RecordOf<"run_start">, "seq" | "ts"> {
  const cwd = process.cwd();
  let sources: string[] = [];
  try {
    sources = inventorySources(ctx.args.inventory ?? [], loadAnsibleConfig(cwd) ?? null);
  } catch {
    sources = ctx.args.inventory ?? [];
  }
  const plays: PlannedPlay[] | undefined = plan.plays ? plannedPlays(plan.plays) : undefined;
  const st = processStartTime(process.pid);
  return {
    type: "run_start",
    runId,
    command: plan.command,
    kind: plan.kind,
    argv: redactArgv(process.argv.slice(2)),
    cwd,
    controller: { hostname: hostname(), pid: process.pid, ...(st ? { startTime: st } : {}), user: safeUser() },
    version: postfleetVersion(),
    ...(plan.playbook ? { playbook: { path: plan.playbook, sha256: sha256(readFileSync(plan.playbook)) } } : {}),
    ...(plan.check !== undefined ? { check: plan.check } : {}),
    ...(plan.extraVars && Object.keys(plan.extraVars).length ? { extraVars: redactVars(plan.extraVars) } : {}),
    ...(ctx.args.limit !== undefined ? { limit: ctx.args.limit } : {}),
    inventory: sources.map((s) => ({ source: s, sha256: sourceHash(s, cwd) })),
    hosts: ctx.hosts,
    ...(plays ? { plan: { plays } } : {}),
  };
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return String(process.getuid?.() ?? "");
  }
}

/** Prune old runs (count: POSTFLEET_RUNS_KEEP, default 50; age: POSTFLEET_RUNS_MAX_AGE_DAYS, default 90), never one still running. */
function pruneOld(dir: string): void {
  if (!listRunIds(dir).length) return;
  const settings = pruneSettings();
  pruneRuns(dir, {
    ...settings,
    keep: settings.keep - 1, // the run about to start is the last of them
    spare: (id) => {
      try {
        return loadRun(dir, id).run.status === "running";
      } catch {
        return false;
      }
    },
  });
}
