// A stored run, read back: its status (running, interrupted, aborted,
// finished) and its run document. A run that ended has the document it
// printed (run_end), byte for byte; one that did not is rebuilt from its
// records as far as it got: hosts that finished as they finished, the host
// in flight marked so (with its last step), the rest never attempted.
import { hostname } from "node:os";
import { join } from "node:path";
import type { HostOutcome, RunDocument, Summary } from "../run-document.js";
import { runDocument, summarize } from "../run-document.js";
import type { InstanceStepResult, PlayHostOutcome, PlayResult, PlaybookDocument, StepResult } from "../steps/step-results.js";
import { overallHosts, retryHosts, stagesOf } from "../playbook-run.js";
import type { RecordOf, RunRecord } from "./records.js";
import { JOURNAL_FILE, readJournal, writerAlive } from "./store.js";

export type RunStatus = "running" | "interrupted" | "aborted" | "finished";

export interface StoredRun {
  id: string;
  command: string;
  started: string;
  finished: string | null;
  status: RunStatus;
  /** Hosts per status (as in the document's summary); hosts in flight of an unfinished run count as skipped. */
  hosts: Summary;
  exitCode: number | null;
  /** Hosts at work when the journal stopped (unfinished runs). */
  inFlight: Array<{ host: string; step?: string }>;
  journal: string;
}

export const IN_FLIGHT = "in flight when the run stopped";
export const NOT_REACHED = "the run stopped before this host was reached";

export function loadRun(dir: string, id: string, thisHost = hostname()): { run: StoredRun; records: RunRecord[]; document: RunDocument } {
  const path = join(dir, id, JOURNAL_FILE);
  const records = readJournal(path);
  const start = records.find((r): r is RecordOf<"run_start"> => r.type === "run_start");
  if (!start) throw new Error(`${path}: no run_start record (not a journal, or written by no run)`);
  // A resumed run goes on in the same journal: what counts is its last part (from the last `resume` record).
  const lastResume = findLast(records, (r): r is RecordOf<"resume"> => r.type === "resume");
  const part = lastResume ? records.slice(records.indexOf(lastResume)) : records;
  const end = findLast(part, (r): r is RecordOf<"run_end"> => r.type === "run_end");
  const flying = inFlight(records);
  const document = end ? (end.document as unknown as RunDocument) : rebuildDocument(start, records);
  const status: RunStatus = end ? (end.aborted ? "aborted" : "finished") : writerAlive((lastResume ?? start).controller, thisHost) ? "running" : "interrupted";
  return {
    records,
    document,
    run: {
      id,
      command: start.command,
      started: start.ts,
      finished: end?.ts ?? null,
      status,
      hosts: document.summary,
      exitCode: end?.exitCode ?? null,
      inFlight: end ? [] : flying,
      journal: path,
    },
  };
}

/** Hosts started and not ended, with the last step each started. */
function inFlight(records: readonly RunRecord[]): Array<{ host: string; step?: string }> {
  const open = new Map<string, string | undefined>();
  for (const r of records) {
    if (r.type === "host_start") open.set(r.host, undefined);
    else if (r.type === "step_start" && open.has(r.host)) open.set(r.host, `step ${r.step + 1} (${r.name})`);
    else if (r.type === "host_end") open.delete(r.host);
  }
  return [...open].map(([host, step]) => ({ host, ...(step ? { step } : {}) }));
}

function flightOutcome(host: string, step: string | undefined, steps: StepResult[] = []): PlayHostOutcome {
  return { host, status: "skipped", error: `${IN_FLIGHT}${step ? ` (at ${step})` : ""}`, results: [], durationMs: 0, steps, incomplete: IN_FLIGHT };
}

/** The steps a host in flight had ended (from its last host_start on), each with its instances' results. */
function stepsSoFar(records: readonly RunRecord[], host: string): StepResult[] {
  let from = -1;
  records.forEach((r, i) => {
    if (r.type === "host_start" && r.host === host) from = i;
  });
  const steps: StepResult[] = [];
  const kinds = new Map<number, string>();
  let instances: InstanceStepResult[] = [];
  for (const r of records.slice(from + 1)) {
    if (!("host" in r) || r.host !== host) continue;
    if (r.type === "step_start") {
      kinds.set(r.step, r.kind ?? "run");
      instances = [];
    } else if (r.type === "instance" && r.state === "done" && r.status) {
      instances.push({ instance: r.instance, status: r.status, action: r.action ?? "", ...(r.changes ? { changes: r.changes as InstanceStepResult["changes"] } : {}), ...(r.detail ? { error: r.detail } : {}), durationMs: 0 });
    } else if (r.type === "step_end") {
      const status = r.status === "unreachable" ? "failed" : r.status;
      steps.push({ index: r.step, name: r.name, type: (kinds.get(r.step) ?? "run") as StepResult["type"], status, ...(r.detail ? { error: r.detail } : {}), instances, durationMs: 0 });
      instances = [];
    }
  }
  return steps;
}

/** The document of a run that did not end, as far as its records go. */
export function rebuildDocument(start: RecordOf<"run_start">, records: readonly RunRecord[]): RunDocument {
  const ended = new Map<string, HostOutcome[]>();
  for (const r of records) if (r.type === "host_end") ended.set(r.host, [r.outcome as unknown as HostOutcome, ...(ended.get(r.host) ?? [])]);
  const flying = new Map(inFlight(records).map((f) => [f.host, f.step]));
  if (!start.plan) {
    const hosts = start.hosts.map((h) => ended.get(h)?.[0] ?? (flying.has(h) ? flightOutcome(h, flying.get(h)) : notReached(h)));
    return runDocument(start.command, hosts, true);
  }
  // Playbooks: per play and batch, the host_end records of that play/batch.
  const plays: PlayResult[] = start.plan.plays.map((p, pi) => {
    const playEnd = findLast(records, (r): r is RecordOf<"play_end"> => r.type === "play_end" && r.play === pi);
    const budget = records.filter((r): r is RecordOf<"budget"> => r.type === "budget" && r.play === pi).at(-1);
    const started = records.some((r) => r.type === "play_start" && r.play === pi);
    const batches = p.batches.map((hosts, bi) => ({
      batch: bi,
      hosts: hosts.map((h): PlayHostOutcome => {
        const end = findLast(records, (r): r is RecordOf<"host_end"> => r.type === "host_end" && r.host === h && r.play === pi && r.batch === bi);
        if (end) return end.outcome as unknown as PlayHostOutcome;
        const began = started && records.some((r) => r.type === "host_start" && r.host === h && r.play === pi && r.batch === bi);
        if (began && flying.has(h)) return flightOutcome(h, flying.get(h), stepsSoFar(records, h));
        return { ...notReached(h), steps: [] };
      }),
      durationMs: 0,
    }));
    const stopped = playEnd?.stopped ?? (playEnd ? undefined : started ? IN_FLIGHT : NOT_REACHED);
    const play: PlayResult = { name: p.name, pattern: p.pattern, hosts: p.batches.flat(), batches, failures: budget?.failures ?? 0, ...(p.maxFail !== undefined ? { maxFail: p.maxFail } : {}), ...(stopped ? { stopped } : {}) };
    if (p.canary) {
      // The stages as the run showed them: the canary's outcome once its stage record was written.
      play.stages = stagesOf(p.batches, p.canary);
      const ended = findLast(records, (r): r is RecordOf<"stage"> => r.type === "stage" && r.play === pi);
      if (ended) Object.assign(play.stages[0]!, { outcome: ended.outcome, detail: ended.detail });
    }
    return play;
  });
  const hosts = overallHosts(start.hosts, plays);
  const doc: PlaybookDocument = {
    command: start.command,
    summary: summarize(hosts),
    aborted: true,
    hosts,
    playbook: start.playbook?.path ?? "",
    check: start.check ?? false,
    plays,
    retryHosts: retryHosts(plays),
  };
  return doc;
}

function notReached(host: string): HostOutcome {
  return { host, status: "skipped", error: NOT_REACHED, results: [], durationMs: 0 };
}

/** The last element that matches (Array.prototype.findLast is ES2023). */
export function findLast<T, S extends T>(xs: readonly T[], p: (x: T) => x is S): S | undefined {
  for (let i = xs.length - 1; i >= 0; i--) if (p(xs[i]!)) return xs[i] as S;
  return undefined;
}
