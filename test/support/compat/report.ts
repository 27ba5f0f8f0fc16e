// Mismatch records: with POSTFLEET_COMPAT_REPORT=<file>, every scenario whose
// sides differ appends one JSON line (the differing steps and tree entries),
// from which MISMATCHES.md is written for the agent's author.
import { appendFileSync } from "node:fs";
import { treeDiff, type SideOutcome } from "./scenario.js";

export interface Mismatch {
  scenario: string;
  steps: { index: number; real: SideOutcome["steps"][number]; subject: SideOutcome["steps"][number] | undefined }[];
  tree: ReturnType<typeof treeDiff>;
  /** Both mail logs when they differ. */
  log?: { real: string[]; subject: string[] };
}

export function findMismatch(scenario: string, real: SideOutcome, subject: SideOutcome): Mismatch | undefined {
  const steps = real.steps.flatMap((r, index) => {
    const s = subject.steps[index];
    return JSON.stringify(r) === JSON.stringify(s) ? [] : [{ index, real: r, subject: s }];
  });
  const tree = treeDiff(real.tree, subject.tree);
  const logsDiffer = JSON.stringify(real.log) !== JSON.stringify(subject.log);
  if (steps.length === 0 && Object.keys(tree).length === 0 && !logsDiffer) return undefined;
  return { scenario, steps, tree, ...(logsDiffer ? { log: { real: real.log, subject: subject.log } } : {}) };
}

export function recordMismatch(m: Mismatch | undefined): void {
  const file = process.env.POSTFLEET_COMPAT_REPORT;
  if (m && file) appendFileSync(file, `${JSON.stringify(m)}\n`);
}

/** With POSTFLEET_COMPAT_DUMP=<file>: every scenario's full outcome of both sides, one JSON line each. */
export function dumpOutcome(scenario: string, real: SideOutcome, subject: SideOutcome): void {
  const file = process.env.POSTFLEET_COMPAT_DUMP;
  if (file) appendFileSync(file, `${JSON.stringify({ scenario, real: { steps: real.steps, log: real.log }, subject: { steps: subject.steps, log: subject.log } })}\n`);
}
