// A playbook run: plays one after the other; each play's hosts in batches,
// lockstep (no host of batch k+1 starts before every host of batch k has
// finished), at most `forks` hosts at a time within a batch; one session and
// one agent per host for the whole run.
//
// The failure budget (`maxFail`) counts failed and unreachable hosts across
// all batches of the play and is spent when the count REACHES it: then no new
// batch starts, hosts of the batch not yet started are skipped, and hosts in
// flight finish their current step and stop. `maxFailPerBatch` (Ansible's
// max_fail_percentage) stops the play after a batch whose failures EXCEED it.
// A first Ctrl-C works the same way with the reason "interrupted".
import { hostname } from "node:os";
import type { HostContext, HostResult } from "./operations.js";
import { hostStatusOf, type BatchResult, type CanaryOutcome, type StageName, type StageResult, type PlayHostOutcome, type PlayResult, type PlaybookDocument, type StepResult } from "./steps/step-results.js";
import type { ExecStep } from "./steps/step-model.js";
import { runHostSteps, type HostStepsOptions } from "./steps/host-steps.js";
import { canaryStep } from "./steps/gate.js";
import { resumeHostSteps, type PlayResume } from "./resume-host.js";
import { loadFacts, type StepContext } from "./steps/step-context.js";
import { ABORTED_BEFORE_START, type FleetRun } from "./fleet-run.js";
import { statusOfError } from "./host-errors.js";
import { summarize, type HostOutcome, type HostStatus, type ResultRow } from "./run-document.js";

export interface ExecPlay {
  name: string;
  pattern: string;
  /** The play's hosts in run order. */
  hosts: string[];
  /** `hosts` cut into batches. */
  batches: string[][];
  /** Failed + unreachable hosts that stop the play when reached. */
  maxFail?: number;
  /** Per batch (same index as `batches`): the play stops after a batch whose failures exceed it. */
  maxFailPerBatch?: number[];
  pauseBetweenBatchesMs: number;
  /** A batch not finished within this stops the play (hosts in flight finish their current step; later batches untouched). */
  progressDeadlineMs?: number;
  /** The play's steps for one host (templates rendered for it). */
  stepsFor(host: string): ExecStep[];
  /** A canary stage: batches[0] is its hosts; a failure there stops the play, success promotes it (auto, or asked). */
  canary?: { hosts: string[]; promote: "auto" | "pause"; soakMs?: number };
}

export interface ExecPlaybook {
  file: string;
  plays: ExecPlay[];
}

export interface PlaybookRunOptions {
  check: boolean;
  /** Show a prompt and wait for Enter (pause steps); absent: pause prompts are refused at validation. */
  prompt?(text: string): Promise<void>;
  /** Ask the operator whether to promote a canary stage (true: go on); absent: `prompt`, then go on. */
  promote?(text: string): Promise<boolean>;
  /** `postfleet resume`: per play, what the stopped run had done (finished hosts are kept, hosts in flight taken up where they were). */
  resume?: readonly PlayResume[];
}

export const BUDGET_SPENT = "failure budget spent";
export const INTERRUPTED = "interrupted";

/** The `command` of a playbook run's document. */
export function playbookLabel(file: string, check: boolean): string {
  return `run ${file}${check ? " --check" : ""}`;
}

export async function runPlaybook(run: FleetRun, pb: ExecPlaybook, o: PlaybookRunOptions): Promise<PlaybookDocument> {
  const label = playbookLabel(pb.file, o.check);
  const allHosts = [...new Set(pb.plays.flatMap((p) => p.hosts))];
  run.events.emit({ type: "run-started", command: label, hosts: allHosts });
  const plays: PlayResult[] = [];
  try {
    for (const [pi, play] of pb.plays.entries()) plays.push(await runPlay(run, play, pi, o, pb.file));
  } finally {
    await run.close();
  }
  const hosts = overallHosts(allHosts, plays);
  const doc: PlaybookDocument = {
    command: label,
    summary: summarize(hosts),
    aborted: run.stopped,
    hosts,
    playbook: pb.file,
    check: o.check,
    plays,
    retryHosts: retryHosts(plays),
  };
  const unchecked = run.hostsWithoutKeyChecking(allHosts);
  if (unchecked.length) doc.hostKeyCheckingOff = unchecked;
  run.events.emit({ type: "run-finished", document: doc });
  return doc;
}

async function runPlay(run: FleetRun, play: ExecPlay, pi: number, o: PlaybookRunOptions, pbFile: string): Promise<PlayResult> {
  const prior = o.resume?.[pi];
  if (prior?.ended) return prior.ended;
  const canary = play.canary;
  run.events.emit({ type: "play-started", play: pi, name: play.name, hosts: play.hosts, batches: play.batches.length, ...(canary ? { canary } : {}) });
  const result: PlayResult = { name: play.name, pattern: play.pattern, hosts: play.hosts, batches: [], failures: prior?.failures ?? 0, ...(play.maxFail !== undefined ? { maxFail: play.maxFail } : {}) };
  if (canary) result.stages = stagesOf(play.batches, canary);
  const stageOf = (bi: number): StageName | undefined => (canary ? (bi === 0 ? "canary" : "rollout") : undefined);
  /** Set when the canary stage failed or was not promoted: stops the play whatever the budget. */
  let canaryStop: string | undefined;
  // Resumed: the budget carries over (as recorded, or 0 after --reset-budget), and the journal says so.
  if (prior) run.events.emit({ type: "budget", play: pi, failures: result.failures, ...(play.maxFail !== undefined ? { maxFail: play.maxFail } : {}) });
  let lastRun = -1; // the last batch run by this process (a resume: the pause before the first one counts from the recorded end)
  const budgetSpent = () => play.maxFail !== undefined && result.failures >= play.maxFail;
  const stopReason = (): string | undefined => (run.stopped ? INTERRUPTED : (canaryStop ?? (budgetSpent() ? `${BUDGET_SPENT} (${result.failures} of ${play.maxFail} failed)` : result.stopped)));
  /** After the canary stage, before any other batch: promoted, or the play stops. */
  const promoteCanary = async (): Promise<void> => {
    const c = result.stages![0]!;
    const v = await canaryVerdict(run, play, canary!, result.batches[0]?.hosts ?? [], prior, o, stopReason);
    Object.assign(c, { outcome: v.outcome, detail: v.detail });
    if (v.outcome === "failed" || v.outcome === "aborted") result.stopped = canaryStop = v.detail;
    run.events.emit({ type: "stage", play: pi, stage: "canary", outcome: v.outcome, detail: v.detail });
  };
  const prompts = new Map<string, Promise<void>>();
  // Count a failed or unreachable host the moment it ends, not when its batch does: the budget is
  // reached mid-batch, and the hosts still in flight must then stop after their current step.
  const failed = () => {
    result.failures++;
    run.events.emit({ type: "budget", play: pi, failures: result.failures, ...(play.maxFail !== undefined ? { maxFail: play.maxFail } : {}) });
  };
  const counted =
    (work: (c: HostContext) => Promise<HostResult>) =>
    async (c: HostContext): Promise<HostResult> => {
      try {
        const r = await work(c);
        if (r.status === "failed" || r.status === "unreachable") failed();
        return r;
      } catch (err) {
        failed(); // runHosts makes it the host's failed/unreachable outcome
        throw err;
      }
    };

  for (const [bi, batch] of play.batches.entries()) {
    if (bi === 1 && canary) await promoteCanary();
    // Resumed: hosts that finished keep their outcome; a batch they fill is not started again.
    const left = prior ? batch.filter((h) => !prior.done.has(h)) : batch;
    const stage = stageOf(bi);
    const inOrder = (outs: readonly PlayHostOutcome[]) => {
      const byHost = new Map(outs.map((x) => [x.host, x]));
      return batch.map((h) => prior?.done.get(h) ?? byHost.get(h)!).map((h) => (stage ? { ...h, stage } : h));
    };
    if (!left.length) {
      result.batches.push({ batch: bi, hosts: inOrder([]), durationMs: 0, ...(stage ? { stage } : {}) });
      continue;
    }
    // The pause first: a Ctrl-C (or anything else that stops the play) during it means this batch never starts.
    if (bi > 0 && play.pauseBetweenBatchesMs > 0 && !stopReason()) await pause(pauseLeft(play.pauseBetweenBatchesMs, lastRun === bi - 1 ? undefined : prior?.batchEnded.get(bi - 1)), run);
    const started = performance.now();
    const before = stopReason();
    if (before) {
      // Never attempted: every host of this and later batches.
      result.batches.push({ batch: bi, hosts: inOrder(left.map((h) => skippedHost(h, before === INTERRUPTED ? ABORTED_BEFORE_START : before))), durationMs: 0, ...(stage ? { stage } : {}) });
      continue;
    }
    lastRun = bi;
    run.events.emit({ type: "batch-started", play: pi, batch: bi, hosts: left, ...(stage ? { stage } : {}) });
    const progress = progressDeadline(play, bi, batch, result);
    const outcomes = (await run.runHosts(
      left,
      progressTracked(progress, counted(async ({ host, session, hardStop, opTimeoutMs }): Promise<HostResult> => {
        let facts: ReturnType<typeof loadFacts> | undefined;
        let step: number | undefined;
        let created: ReadonlySet<string> = new Set();
        const ctx: StepContext = {
          host,
          session,
          check: o.check,
          opTimeoutMs,
          hardStop,
          interrupted: () => (run.stopped ? INTERRUPTED : undefined),
          facts: () => (facts ??= loadFacts(session)),
          invalidateFacts: () => {
            facts = undefined;
          },
          predict: (predicted, names) => {
            facts = Promise.resolve(predicted);
            created = new Set([...created, ...names]);
          },
          predicted: (name) => created.has(name),
          doing: (what) => run.doing(host, what),
          transition: (instance, state, detail) => run.events.emit({ type: "instance", host, ...(step !== undefined ? { step } : {}), instance, state, ...(detail ? { detail } : {}) }),
          keepSnapshot: (instance, s, files, sha256) => run.events.emit({ type: "config-snapshot", host, step: s, instance, files: files as Record<string, string>, sha256: sha256 as Record<string, string> }),
          prompt: (text) => {
            // One prompt per step and batch, whichever host reaches it first.
            const key = `${bi}:${text}`;
            let p = prompts.get(key);
            if (!p) prompts.set(key, (p = o.prompt ? o.prompt(text) : Promise.resolve()));
            return p;
          },
        };
        // On a canary host every gate holds for the canary's soak before the stage can be promoted.
        const soak = bi === 0 ? canary?.soakMs : undefined;
        const steps = soak ? play.stepsFor(host).map((s) => canaryStep(s, soak)) : play.stepsFor(host);
        // The host's steps of this play are one unit for other runs and agents: hold the host lock
        // across them (the agent releases it on unlock, and on its exit however it ends).
        const locked = await lockHost(session, o, `postfleet run ${pbFile} (pid ${process.pid} on ${hostname()})`, opTimeoutMs, hardStop);
        let r;
        try {
          const hostSteps: HostStepsOptions = {
            stopReason,
            onStepStarted: (s) => {
              step = s.index;
              run.events.emit({ type: "step-started", host, step: s.index, name: s.name, kind: s.action.type });
            },
            onStepFinished: (s) => {
              // Each instance's result in the step (with settings changes, before/after), then the step.
              for (const i of s.instances)
                run.events.emit({ type: "instance", host, step: s.index, instance: i.instance, state: "done", status: i.status, action: i.action, ...(i.changes?.length ? { changes: i.changes } : {}), ...(i.error ? { detail: i.error } : {}) });
              run.events.emit({ type: "step-finished", host, step: s.index, name: s.name, status: s.status, ...(s.error ? { detail: s.error } : {}) });
            },
          };
          const progress = prior?.progress.get(host);
          r = progress ? await resumeHostSteps(ctx, steps, progress, hostSteps) : await runHostSteps(ctx, steps, hostSteps);
        } finally {
          if (locked) await session.request({ op: "unlock" }, { timeoutMs: 10_000 }).catch(() => undefined);
        }
        // A host lost mid-step is unreachable (or failed) by the error that lost it, with the steps it got through.
        const status = r.lost !== undefined ? statusOfError(r.lost) : hostStatusOf(r.steps);
        const failedStep = r.steps.find((s) => s.status === "failed");
        return {
          status,
          ...(failedStep ? { error: `step ${failedStep.index + 1} (${failedStep.name}): ${failedStep.error ?? "failed"}` } : {}),
          ...(r.incomplete ? { message: `stopped before its last step: ${r.incomplete}` } : {}),
          results: resultRows(r.steps),
          steps: r.steps,
          ...(r.incomplete ? { incomplete: r.incomplete } : {}),
          ...(r.reverted !== undefined ? { reverted: r.reverted } : {}),
        } as HostResult;
      })),
      { skipReason: () => stopReason() },
    )) as PlayHostOutcome[];
    progressVerdict(progress, outcomes, result);
    for (const h of outcomes) h.steps ??= [];
    const all = inOrder(outcomes);
    // result.failures was counted as each host ended (counted); this batch's share, for max_fail_per_batch:
    const failures = all.filter((h) => h.status === "failed" || h.status === "unreachable").length;
    const batchResult: BatchResult = { batch: bi, hosts: all, durationMs: Math.round(performance.now() - started), ...(stage ? { stage } : {}) };
    result.batches.push(batchResult);
    run.events.emit({ type: "batch-finished", play: pi, batch: bi, outcomes: all });
    const perBatch = play.maxFailPerBatch?.[bi];
    if (perBatch !== undefined && failures > perBatch && !result.stopped) {
      result.stopped = `${failures} of ${batch.length} hosts failed in batch ${bi + 1}, more than max_fail_per_batch allows (${perBatch})`;
    }
  }
  // A canary stage with no other batch after it: said how it ended all the same.
  if (canary && play.batches.length === 1) await promoteCanary();
  if (!result.stopped && budgetSpent() && result.batches.some((b) => b.hosts.some((h) => h.status === "skipped" || h.incomplete))) {
    result.stopped = `${BUDGET_SPENT}: ${result.failures} host${result.failures === 1 ? "" : "s"} failed or unreachable, budget ${play.maxFail}`;
  }
  if (!result.stopped && run.stopped) result.stopped = INTERRUPTED;
  run.events.emit({ type: "play-finished", play: pi, name: play.name, ...(result.stopped ? { stopped: result.stopped } : {}) });
  return result;
}

/** The canary and rollout stages of a play's batches, before they run (a run, and the rebuild of one that did not end). */
export function stagesOf(batches: readonly (readonly string[])[], canary: { promote: "auto" | "pause"; soakMs?: number | undefined }): StageResult[] {
  return [
    { stage: "canary", batches: [0], hosts: [...(batches[0] ?? [])], promote: canary.promote, ...(canary.soakMs !== undefined ? { soakMs: canary.soakMs } : {}) },
    { stage: "rollout", batches: batches.slice(1).map((_, i) => i + 1), hosts: batches.slice(1).flat() },
  ];
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

/**
 * How the canary stage ended, once its batch has: failed (a host failed or
 * was unreachable), stopped (interrupted), passed (no other host), promoted
 * (automatically; by the operator with promote: pause; or already, by the run
 * a resume continues: a later batch had started), or aborted by the operator.
 */
async function canaryVerdict(
  run: FleetRun,
  play: ExecPlay,
  canary: NonNullable<ExecPlay["canary"]>,
  stage: readonly PlayHostOutcome[],
  prior: PlayResume | undefined,
  o: PlaybookRunOptions,
  stopReason: () => string | undefined,
): Promise<{ outcome: CanaryOutcome; detail: string }> {
  const bad = stage.filter((h) => h.status === "failed" || h.status === "unreachable");
  const others = play.batches.slice(1).flat();
  const untouched = others.length ? `, the other ${plural(others.length, "host")} untouched` : "";
  if (bad.length) return { outcome: "failed", detail: `canary stage failed on ${bad.map((h) => h.host).join(", ")} (${bad.length} of ${plural(stage.length, "canary host")}): not promoted${untouched}` };
  const why = stopReason();
  if (why || stage.some((h) => h.status === "skipped" || h.incomplete)) return { outcome: "stopped", detail: `canary stage did not finish (${why ?? "stopped"}): not promoted` };
  if (!others.length) return { outcome: "passed", detail: `every canary host ended well; no other host to promote to` };
  if (prior && others.some((h) => prior.done.has(h) || prior.progress.has(h))) return { outcome: "promoted", detail: "promoted by the run this resume continues (a later batch had started)" };
  const well = `every canary host ended well${canary.soakMs !== undefined ? `, its gates held for ${canary.soakMs / 1000} s` : ""}`;
  if (canary.promote === "auto" || o.check) return { outcome: "promoted", detail: `${well}: promoted automatically to the other ${plural(others.length, "host")}${canary.promote === "pause" ? " (--check: not asked)" : ""}` };
  const text = `canary stage of play '${play.name}' (${stage.map((h) => h.host).join(", ")}): ${well}. Promote to the other ${plural(others.length, "host")}?`;
  const ask = o.promote ? o.promote(text) : o.prompt ? o.prompt(text).then(() => true) : Promise.resolve(true);
  const stop = run.settings.stop;
  const answer = await Promise.race([ask, new Promise<undefined>((resolve) => stop?.addEventListener("abort", () => resolve(undefined), { once: true }))]);
  if (answer === undefined) return { outcome: "stopped", detail: `canary stage not promoted: ${INTERRUPTED} while the operator was asked` };
  return answer ? { outcome: "promoted", detail: `${well}: promoted by the operator to the other ${plural(others.length, "host")}` } : { outcome: "aborted", detail: `canary stage not promoted: the operator aborted${untouched.replace(",", ";")}` };
}

/** progress_deadline of one batch: when it passes before the batch has finished, the play stops (stopReason() then gives result.stopped). */
interface ProgressWatch {
  timer?: NodeJS.Timeout;
  passed?: string;
  /** Hosts that had finished before it passed. */
  done: Set<string>;
}

function progressDeadline(play: ExecPlay, bi: number, batch: string[], result: PlayResult): ProgressWatch {
  const w: ProgressWatch = { done: new Set() };
  const ms = play.progressDeadlineMs;
  if (!ms) return w;
  w.timer = setTimeout(() => {
    w.passed = `progress_deadline (${ms / 1000} s) passed before batch ${bi + 1} (${batch.join(", ")}) had finished`;
    result.stopped ??= w.passed;
  }, ms);
  return w;
}

function progressTracked(w: ProgressWatch, work: (c: HostContext) => Promise<HostResult>) {
  return async (c: HostContext): Promise<HostResult> => {
    try {
      return await work(c);
    } finally {
      if (!w.passed) w.done.add(c.host);
    }
  };
}

/** A host still in flight when the deadline passed did not become healthy in time: failed (and counted), whatever its steps did after. */
function progressVerdict(w: ProgressWatch, outcomes: PlayHostOutcome[], result: PlayResult): void {
  clearTimeout(w.timer);
  if (!w.passed) return;
  for (const h of outcomes) {
    if (w.done.has(h.host) || h.status === "failed" || h.status === "unreachable" || h.status === "skipped") continue;
    h.status = "failed";
    h.error = `not finished within the play's progress_deadline: ${w.passed}`;
    result.failures++;
  }
}

/** Take the host lock for a real run as root (the lock lives in /run/postfleet); a --check run changes nothing and takes none. */
async function lockHost(session: HostContext["session"], o: PlaybookRunOptions, holder: string, timeoutMs: number, signal: AbortSignal): Promise<boolean> {
  if (o.check) return false;
  const client = await session.agent();
  if (client.hello.uid !== 0) return false;
  await session.request({ op: "lock", holder, timeoutMs }, { signal, timeoutMs: timeoutMs + 10_000 });
  return true;
}

function skippedHost(host: string, why: string): PlayHostOutcome {
  return { host, status: "skipped", error: why, results: [], durationMs: 0, steps: [] };
}

/** The pause before a batch: whole, or (resumed) what is left of it since the previous batch ended. */
function pauseLeft(ms: number, previousEnded: number | undefined): number {
  return previousEnded === undefined ? ms : Math.max(0, ms - (Date.now() - previousEnded));
}

function pause(ms: number, run: FleetRun): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    run.settings.stop?.addEventListener("abort", () => (clearTimeout(t), resolve()), { once: true });
  });
}

/** The flat per-instance rows of `results` (the shape every command's --json has). */
function resultRows(steps: readonly StepResult[]): ResultRow[] {
  return steps.flatMap((s) =>
    s.instances.map((i) => ({
      instance: i.instance,
      command: (i.commands ?? []).join("; "),
      exitCode: i.status === "failed" ? 1 : 0,
      stdout: i.stdout ?? "",
      stderr: i.stderr ?? "",
      durationMs: i.durationMs,
      changed: i.status === "changed",
      ...(i.status === "skipped" ? { skipped: i.action } : {}),
      step: s.name,
    })),
  );
}

const RANK: Record<HostStatus, number> = { ok: 0, changed: 1, skipped: 2, unreachable: 3, failed: 4 };

/** Each host's overall status over the plays: the worst of them. */
export function overallHosts(hosts: readonly string[], plays: readonly PlayResult[]): HostOutcome[] {
  // Each host's outcomes gathered in one pass (looking them up over all outcomes per host was n² at fleet scale).
  const byHost = new Map<string, PlayHostOutcome[]>();
  for (const p of plays) for (const b of p.batches) for (const h of b.hosts) (byHost.get(h.host) ?? byHost.set(h.host, []).get(h.host)!).push(h);
  return hosts.map((host) => {
    const mine = byHost.get(host) ?? [];
    const worst = mine.reduce((a, b) => (RANK[b.status] > RANK[a.status] ? b : a));
    return {
      host,
      status: worst.status,
      ...(worst.error ? { error: worst.error } : {}),
      ...(mine.some((m) => m.incomplete) ? { message: mine.find((m) => m.incomplete)!.message } : {}),
      ...(mine.some((m) => m.reverted !== undefined) ? { reverted: mine.every((m) => m.reverted !== false) } : {}),
      results: mine.flatMap((m) => m.results),
      durationMs: mine.reduce((n, m) => n + m.durationMs, 0),
      ...spanAndTimings(mine),
    };
  });
}

/** When the host was first started and last finished, and its session's timings (one session for the whole run: the last outcome has them all). */
function spanAndTimings(mine: readonly HostOutcome[]): Pick<HostOutcome, "startedAt" | "finishedAt" | "timings" | "hostKey"> {
  const started = mine.flatMap((m) => (m.startedAt ? [m.startedAt] : [])).sort();
  const finished = mine.flatMap((m) => (m.finishedAt ? [m.finishedAt] : [])).sort();
  const timings = [...mine].reverse().find((m) => m.timings)?.timings;
  const hostKey = mine.find((m) => m.hostKey)?.hostKey;
  return {
    ...(started[0] ? { startedAt: started[0] } : {}),
    ...(finished.length ? { finishedAt: finished.at(-1)! } : {}),
    ...(timings ? { timings } : {}),
    ...(hostKey ? { hostKey } : {}),
  };
}

/** Failed, unreachable, incomplete and never attempted hosts, in run order: for --limit @FILE. */
export function retryHosts(plays: readonly PlayResult[]): string[] {
  const out = new Set<string>();
  for (const p of plays)
    for (const b of p.batches) for (const h of b.hosts) if (h.status === "failed" || h.status === "unreachable" || h.status === "skipped" || h.incomplete) out.add(h.host);
  return [...out];
}
