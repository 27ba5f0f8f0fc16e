// Host order, batches and failure budgets: Ansible's rules where postfleet
// keeps them (serial: PlaybookExecutor._get_serialized_batches and
// pct_to_int; max_fail_per_batch: the linear strategy's max_fail_percentage
// check), and postfleet's fleet-wide budget (max_fail) that is REACHED, not
// exceeded.

import { randomInt } from "node:crypto";
import type { HostOrder, Play } from "./types.js";

/** A count, or "N%" of `total`. */
export type CountSpec = number | string;

const PERCENT = /^\s*(\d+)\s*%\s*$/;

/**
 * Ansible's pct_to_int: "N%" of `total` computed in floating point
 * (int((N / 100.0) * total)), rounded down, at least 1; a count as it is.
 */
export function countOf(spec: CountSpec, total: number): number {
  if (typeof spec === "string") {
    const m = PERCENT.exec(spec);
    if (m) return Math.trunc((Number(m[1]) / 100) * total) || 1;
    return Math.trunc(Number(spec));
  }
  return Math.trunc(spec);
}

/** A small seeded generator (mulberry32): the same seed, the same shuffle, everywhere. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomSeed(): number {
  return randomInt(0, 2 ** 31);
}

/** `hosts` (inventory order) in the play's order; shuffle needs a seed. */
export function orderHosts(hosts: readonly string[], order: HostOrder, seed = 0): string[] {
  const out = [...hosts];
  switch (order) {
    case "inventory":
      return out;
    case "reverse_inventory":
      return out.reverse();
    // Python's sorted() on names: code point order, not the locale's.
    case "sorted":
      return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    case "reverse_sorted":
      return out.sort((a, b) => (a < b ? 1 : a > b ? -1 : 0));
    case "shuffle": {
      const next = mulberry32(seed);
      for (let i = out.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        [out[i], out[j]] = [out[j]!, out[i]!];
      }
      return out;
    }
  }
}

/**
 * Cut ordered hosts into batches as Ansible does: each entry of `serial` (a
 * percentage is of all the play's hosts) gives the next batch's size, the last
 * entry repeats; no serial: one batch. (`total`: what a percentage is of, when
 * `hosts` are not all the play's hosts: those after a canary stage.)
 */
export function makeBatches(hosts: readonly string[], serial: CountSpec | readonly CountSpec[] | undefined, total = hosts.length): string[][] {
  if (!hosts.length) return [];
  const list = serial === undefined ? [] : Array.isArray(serial) ? serial : [serial as CountSpec];
  if (!list.length) return [[...hosts]];
  const rest = [...hosts];
  const batches: string[][] = [];
  let i = 0;
  while (rest.length) {
    const size = countOf(list[i]!, total);
    if (size <= 0) {
      batches.push(rest.splice(0));
      break;
    }
    batches.push(rest.splice(0, size));
    i = Math.min(i + 1, list.length - 1);
  }
  return batches;
}

/** max_fail as an absolute count of the play's hosts (a percentage rounds down, at least 1); undefined: no budget. */
export function failureBudget(spec: CountSpec | undefined, hostCount: number): number | null {
  return spec === undefined ? null : Math.max(1, countOf(spec, hostCount));
}

/**
 * max_fail_per_batch as the number of failures each batch tolerates: a count
 * as it is; a percentage with Ansible's test, failed / batch_size > N / 100.0
 * (floating point), so the largest f that does not exceed it.
 */
export function perBatchTolerance(spec: CountSpec, batches: readonly (readonly string[])[]): number[] {
  const m = typeof spec === "string" ? PERCENT.exec(spec) : null;
  return batches.map((b) => {
    if (!m) return countOf(spec, b.length);
    const limit = Number(m[1]) / 100;
    let f = 0;
    while (f < b.length && (f + 1) / b.length <= limit) f++;
    return f;
  });
}

/** The play's budget is spent: `failed` hosts (failed or unreachable, all batches so far) reach max_fail. */
export function budgetReached(play: Pick<Play, "maxFail">, failed: number): boolean {
  return play.maxFail !== null && failed >= play.maxFail;
}

/** Batch `batch` (0-based) ends the play: its own failed and unreachable hosts exceed max_fail_per_batch. */
export function batchBudgetExceeded(play: Pick<Play, "maxFailPerBatch">, batch: number, failedInBatch: number): boolean {
  const tolerance = play.maxFailPerBatch?.[batch];
  return tolerance !== undefined && failedInBatch > tolerance;
}

/** canary.hosts as written: N hosts, "N%" of the play's hosts, a host pattern, or a list of host names. */
export type CanarySpec = number | string | readonly string[];

/** The canary hosts, or why they cannot be chosen (`item`: the list entry at fault). */
export type CanaryChoice = { hosts: string[] } | { error: string; item?: number };

/**
 * The canary hosts among the play's `ordered` hosts: the first N (a
 * percentage as serial's, rounded down, at least 1); a host pattern's hosts
 * in the play's order (`select` resolves a pattern against the inventory); a
 * list of names in the order written. Every host must be one of the play's.
 */
export function chooseCanary(ordered: readonly string[], spec: CanarySpec, select: (pattern: string) => string[]): CanaryChoice {
  if (typeof spec === "number" || (typeof spec === "string" && PERCENT.test(spec))) return { hosts: ordered.slice(0, Math.max(1, countOf(spec, ordered.length))) };
  if (typeof spec === "string") {
    let matched: Set<string>;
    try {
      matched = new Set(select(spec));
    } catch (e) {
      return { error: `canary hosts: bad host pattern '${spec}': ${(e as Error).message}` };
    }
    const hosts = ordered.filter((h) => matched.has(h));
    return hosts.length ? { hosts } : { error: `canary hosts: '${spec}' matches none of the play's hosts (${ordered.join(", ") || "none"})` };
  }
  const inPlay = new Set(ordered);
  const hosts: string[] = [];
  for (const [i, h] of spec.entries()) {
    if (!inPlay.has(h)) return { error: `canary host '${h}' is not one of the play's hosts (${ordered.join(", ") || "none"})`, item: i };
    if (!hosts.includes(h)) hosts.push(h);
  }
  return { hosts };
}

/** The canary stage first (batch 1), then the play's other hosts, in their order, cut by serial (a percentage is of all the play's hosts, as without a canary). */
export function canaryBatches(ordered: readonly string[], canary: readonly string[], serial: CountSpec | readonly CountSpec[] | undefined): string[][] {
  const first = new Set(canary);
  return [[...canary], ...makeBatches(ordered.filter((h) => !first.has(h)), serial, ordered.length)];
}
