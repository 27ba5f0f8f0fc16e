// What a run announces while it happens. The progress line, the human
// renderer and anything else that watches a run subscribe here; the engine
// never prints.
import type { ParamChange } from "../protocol/index.js";
import type { HostOutcome, HostStatus, RunDocument } from "./run-document.js";
import type { CanaryOutcome, StageName, StepStatus } from "./steps/step-results.js";
import type { StepType } from "./steps/step-model.js";

export type RunEvent =
  | { type: "run-started"; command: string; hosts: readonly string[] }
  | { type: "play-started"; play: number; name: string; hosts: readonly string[]; batches: number; canary?: { hosts: readonly string[]; promote: "auto" | "pause"; soakMs?: number } }
  | { type: "batch-started"; play: number; batch: number; hosts: readonly string[]; stage?: StageName }
  /** A play's canary stage ended: promoted to the other hosts, or not (why). */
  | { type: "stage"; play: number; stage: "canary"; outcome: CanaryOutcome; detail: string }
  | { type: "host-started"; host: string }
  | { type: "step-started"; host: string; step: number; name: string; kind?: StepType }
  | { type: "step-finished"; host: string; step: number; name: string; status: HostStatus; detail?: string }
  | { type: "host-finished"; outcome: HostOutcome }
  | { type: "batch-finished"; play: number; batch: number; outcomes: readonly HostOutcome[] }
  | { type: "play-finished"; play: number; name: string; stopped?: string }
  /** A play's failure count changed (a host failed or was unreachable). */
  | { type: "budget"; play: number; failures: number; maxFail?: number }
  /** An instance's transition within a step (stopping, stopped, starting, health_gate, healthy, failed...), and `done` with its result. */
  | { type: "instance"; host: string; step?: number; instance: string; state: string; status?: StepStatus; action?: string; changes?: readonly ParamChange[]; detail?: string }
  /** on_gate_failure: revert: an instance's main.cf/master.cf (base64) before step `step` changed them; the journal keeps them beside itself. */
  | { type: "config-snapshot"; host: string; step: number; instance: string; files: Readonly<Record<string, string>>; sha256: Readonly<Record<string, string>> }
  | { type: "run-finished"; document: RunDocument };

export type RunListener = (event: RunEvent) => void;

/** Something a watcher must finish before the run acts on a host again (the journal's records reaching the disk). */
export type RunBarrier = () => Promise<void>;

export class RunEvents {
  private readonly listeners = new Set<RunListener>();
  private readonly barriers = new Set<RunBarrier>();

  /**
   * Hold every request to a host until `barrier` settles: the journal uses it
   * so that what was recorded is on disk before the next thing is done, with
   * one fsync for all the records of that moment. Returns the release.
   */
  holdRequests(barrier: RunBarrier): () => void {
    this.barriers.add(barrier);
    return () => this.barriers.delete(barrier);
  }

  /** Resolves once every barrier has settled (at once when there is none); never rejects. */
  async settled(): Promise<void> {
    if (this.barriers.size === 0) return;
    await Promise.allSettled([...this.barriers].map((b) => b()));
  }

  /** Subscribe; returns the unsubscribe function. */
  on(listener: RunListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event: RunEvent): void {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch {
        // A broken watcher (e.g. a closed terminal) must not stop the run.
      }
    }
  }
}
