// From the engine's events to run records: the journal and --events streams
// watch the run here. Host records carry the play and batch they belong to
// (plays run one after the other and batches in lockstep, so the current
// ones are known). The first Ctrl-C (or SIGTERM/SIGHUP) is an `interrupt`
// record; the run document at the end is `run_end`. Requests to hosts wait
// until the records before them are on disk (RecordWriter.durable).
import type { RunEvent, RunEvents } from "../events.js";
import { exitCodeOf } from "../run-document.js";
import type { RecordBody } from "./records.js";
import type { RecordWriter } from "./store.js";
import { keepSnapshotFiles, syncSnapshotFiles } from "./snapshots.js";

export function attachRecorder(events: RunEvents, writer: RecordWriter, stop?: AbortSignal): () => void {
  let play: number | undefined;
  let batch: number | undefined;
  const where = () => ({ ...(play !== undefined ? { play } : {}), ...(batch !== undefined ? { batch } : {}) });
  const onAbort = () => writer.write({ type: "interrupt", reason: "interrupted (first Ctrl-C, SIGTERM or SIGHUP): finishing the work in progress, starting nothing new" });
  // What was recorded is on disk before the next request leaves for a host (one fsync for all of that
  // moment's records), and so are the revert copies written meanwhile (their files and directories).
  const unsynced = new Set<string>();
  let copiesSynced: Promise<unknown> = Promise.resolve();
  const release = events.holdRequests(async () => {
    if (unsynced.size > 0) {
      // Waiters of one moment share this sync; a later waiter also waits for the ones before it.
      copiesSynced = Promise.all([copiesSynced, syncSnapshotFiles([...unsynced])]);
      unsynced.clear();
    }
    await Promise.all([writer.durable(), copiesSynced]);
  });
  stop?.addEventListener("abort", onAbort, { once: true });
  const off = events.on((e) => {
    const body = e.type === "config-snapshot" ? snapshotRecord(e, writer.runDir, unsynced) : recordOf(e);
    if (e.type === "play-started") ((play = e.play), (batch = undefined));
    if (e.type === "batch-started") batch = e.batch;
    if (!body) return;
    if (body.type === "host_start" || body.type === "host_end") Object.assign(body, where());
    writer.write(body);
  });
  return () => {
    off();
    release();
    stop?.removeEventListener("abort", onAbort);
  };
}

/** The controller's copy of a revert snapshot: files beside the journal (none without one), and a record without the bytes. */
function snapshotRecord(e: Extract<RunEvent, { type: "config-snapshot" }>, runDir: string | undefined, unsynced: Set<string>): RecordBody {
  let path: string | undefined;
  if (runDir) {
    try {
      path = keepSnapshotFiles(runDir, e.host, e.instance, e.files, unsynced);
    } catch {
      path = undefined; // the host keeps its own copy, and the run its copy in memory
    }
  }
  return { type: "revert_snapshot", host: e.host, step: e.step, instance: e.instance, sha256: { ...e.sha256 }, ...(path ? { path } : {}) };
}

function recordOf(e: RunEvent): RecordBody | undefined {
  switch (e.type) {
    case "config-snapshot":
      return undefined;
    case "run-started":
      return undefined; // run_start is written before the run, with what only the caller knows
    case "play-started":
      return { type: "play_start", play: e.play, name: e.name, hosts: [...e.hosts], batches: e.batches, ...(e.canary ? { canary: { ...e.canary, hosts: [...e.canary.hosts] } } : {}) };
    case "batch-started":
      return { type: "batch_start", play: e.play, batch: e.batch, hosts: [...e.hosts], ...(e.stage ? { stage: e.stage } : {}) };
    case "stage":
      return { type: "stage", play: e.play, stage: e.stage, outcome: e.outcome, detail: e.detail };
    case "host-started":
      return { type: "host_start", host: e.host };
    case "step-started":
      return { type: "step_start", host: e.host, step: e.step, name: e.name, ...(e.kind ? { kind: e.kind } : {}) };
    case "step-finished":
      return { type: "step_end", host: e.host, step: e.step, name: e.name, status: e.status, ...(e.detail ? { detail: e.detail } : {}) };
    case "instance":
      return {
        type: "instance",
        host: e.host,
        ...(e.step !== undefined ? { step: e.step } : {}),
        instance: e.instance,
        state: e.state,
        ...(e.status ? { status: e.status } : {}),
        ...(e.action ? { action: e.action } : {}),
        ...(e.changes?.length ? { changes: [...e.changes] } : {}),
        ...(e.detail ? { detail: e.detail } : {}),
      };
    case "host-finished":
      return { type: "host_end", host: e.outcome.host, status: e.outcome.status, outcome: e.outcome as never };
    case "batch-finished":
      return { type: "batch_end", play: e.play, batch: e.batch, statuses: Object.fromEntries(e.outcomes.map((o) => [o.host, o.status])) };
    case "play-finished":
      return { type: "play_end", play: e.play, name: e.name, ...(e.stopped ? { stopped: e.stopped } : {}) };
    case "budget":
      return { type: "budget", play: e.play, failures: e.failures, ...(e.maxFail !== undefined ? { maxFail: e.maxFail } : {}) };
    case "run-finished":
      return { type: "run_end", exitCode: exitCodeOf(e.document), aborted: e.document.aborted, summary: e.document.summary, document: e.document as never };
  }
}
