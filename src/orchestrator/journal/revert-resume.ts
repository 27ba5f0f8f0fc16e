// A revert the stopped run had begun and not finished (on_gate_failure:
// revert, steps/revert.ts), from its journal: the host's `revert` step was
// started (step_start named "revert") and never ended. `postfleet resume`
// finishes it: puts the files back again (from the host's copy, which stays
// until the host's work ends), reloads or restarts every instance of the
// revert (whether or not the killed run had got that far) and runs the gate
// again.
import type { RecordOf, RunRecord } from "./records.js";

export interface PendingRevert {
  /** The revert step's index (as journaled). */
  step: number;
  /** The failed gate's step: index, name and kind (reload, restart, wait, then...) as journaled. */
  gate: { index: number; name: string; kind: string };
  /** Each instance being reverted, with the step that kept its files. */
  instances: { name: string; keptAt: number }[];
}

export const REVERT_STEP_NAME = "revert";

/** The revert of `host` in play `pi` that was started and not ended, if any. */
export function pendingRevert(records: readonly RunRecord[], host: string, pi: number): PendingRevert | undefined {
  let play: number | undefined;
  let revert: number | undefined;
  let gate: PendingRevert["gate"] | undefined;
  let lastFailed: PendingRevert["gate"] | undefined;
  const kinds = new Map<number, RecordOf<"step_start">>();
  const keptAt = new Map<string, number>();
  let reverting: string[] = [];
  for (const r of records) {
    if (!("host" in r) || r.host !== host) continue;
    if (r.type === "host_start") play = r.play;
    if (play !== pi) continue;
    if (r.type === "step_start") {
      kinds.set(r.step, r);
      if (r.name === REVERT_STEP_NAME) {
        revert = r.step;
        gate = lastFailed;
        reverting = [];
      }
    } else if (r.type === "step_end") {
      if (r.step === revert) revert = undefined;
      else if (r.status === "failed") lastFailed = { index: r.step, name: r.name, kind: kinds.get(r.step)?.kind ?? "run" };
    } else if (r.type === "instance") {
      if (r.state === "revert_snapshot" && r.step !== undefined && !keptAt.has(r.instance)) keptAt.set(r.instance, r.step);
      if (r.state === "reverting" && r.step === revert && !reverting.includes(r.instance)) reverting.push(r.instance);
    }
  }
  if (revert === undefined || !gate || reverting.length === 0) return undefined;
  return { step: revert, gate, instances: reverting.map((name) => ({ name, keptAt: keptAt.get(name) ?? 0 })) };
}
