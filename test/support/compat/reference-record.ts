// The real postmulti's outcome of every scenario, recorded (test/compat/reference.jsonl).
//
// Running the real side of all 68 scenarios is half of the differential
// suite's time, the longest file of CI. Its outcome only changes when the
// scenario, the runner, the lab image or the Postfix package changes, so it is
// recorded with exactly those in its key. A run uses a record only when its key
// is current; a scenario without one runs the real postmulti live, as before.
// So that the records stay honest, every run also runs a rotating quarter of
// the scenarios live and checks that the real postmulti still does what its
// record says (POSTFLEET_COMPAT_LIVE=all runs every one live; `npm run
// compat:record` runs every one live and rewrites the file).
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { packageRoot } from "../../../src/lab/engine.js";
import type { Scenario, SideOutcome } from "./scenario.js";

export const RECORD_FILE = join(packageRoot(), "test", "compat", "reference.jsonl");

/** One line of the record file. */
export interface ReferenceRecord {
  scenario: string;
  /** sha256 of what the outcome depends on (see recordKey). */
  key: string;
  real: SideOutcome;
}

/**
 * The runner's own sources and the scenarios file: a change to how a step runs
 * or is normalized, or to a helper a scenario calls (a `reference.map`'s), invalidates every record.
 */
const RUNNER_SOURCES = [
  ...["scenario.ts", "twin.ts", "shell.ts", "setup-cache.ts"].map((f) => join(packageRoot(), "test", "support", "compat", f)),
  join(packageRoot(), "test", "compat", "scenarios.ts"),
  // shellQuote: how every command is written, and the step labels the outcome carries.
  join(packageRoot(), "src", "transport", "shell.ts"),
];

let runnerHash: string | undefined;

function runnerSourcesHash(): string {
  if (runnerHash === undefined) {
    const h = createHash("sha256");
    for (const f of RUNNER_SOURCES) h.update(readFileSync(f)).update("\0");
    runnerHash = h.digest("hex");
  }
  return runnerHash;
}

/**
 * The scenario as data. A function (a step's `reference.map`) counts as its
 * place only: its source is in scenarios.ts, which the runner hash covers, and
 * its text as compiled depends on the transformer (vitest and tsx differ).
 */
export function scenarioFingerprint(s: Scenario): string {
  return JSON.stringify(s, (_k, v: unknown) => (typeof v === "function" ? "fn" : v));
}

/** What a real outcome depends on: scenario, runner, lab image and the Postfix package in it. */
export function recordKey(s: Scenario, env: { labImage: string; postfixVersion: string }): string {
  return createHash("sha256")
    .update(scenarioFingerprint(s))
    .update("\0")
    .update(runnerSourcesHash())
    .update("\0")
    .update(env.labImage)
    .update("\0")
    .update(env.postfixVersion)
    .digest("hex");
}

/** The Postfix package version in the lab image (e.g. 3.7.11-0+deb12u1). */
export function postfixPackageVersion(labImage: string): string {
  return execFileSync("docker", ["run", "--rm", "--entrypoint", "dpkg-query", labImage, "-W", "-f", "${Version}", "postfix"], {
    encoding: "utf8",
  }).trim();
}

// The file: a first line {"texts": {sha: text}} holding every long tree value (main.cf and
// master.cf with their text) once, then one record per scenario whose long values name their text
// ("@text <sha>"): the same master.cf in 70 scenarios is kept once, and a re-record diffs by line.
const TEXT_REF = "@text ";
const LONG = 200;

export function loadRecords(file = RECORD_FILE): Map<string, ReferenceRecord> {
  const out = new Map<string, ReferenceRecord>();
  if (!existsSync(file)) return out;
  const [head, ...lines] = readFileSync(file, "utf8").split("\n");
  const texts = (JSON.parse(head || "{}") as { texts?: Record<string, string> }).texts ?? {};
  for (const line of lines) {
    if (!line.trim()) continue;
    const r = JSON.parse(line) as ReferenceRecord;
    for (const [path, v] of Object.entries(r.real.tree)) {
      if (!v.startsWith(TEXT_REF)) continue;
      const text = texts[v.slice(TEXT_REF.length)];
      if (text === undefined) throw new Error(`${file}: ${r.scenario}: ${path} names a text the file does not hold`);
      r.real.tree[path] = text;
    }
    out.set(r.scenario, r);
  }
  return out;
}

/** One line per scenario, in scenario order, so that a re-record diffs by scenario. */
export function saveRecords(records: readonly ReferenceRecord[], file = RECORD_FILE): void {
  const texts: Record<string, string> = {};
  const lines = records.map((r) => {
    const tree: Record<string, string> = {};
    for (const [path, v] of Object.entries(r.real.tree)) {
      if (v.length < LONG) tree[path] = v;
      else {
        const sha = createHash("sha256").update(v).digest("hex").slice(0, 24);
        texts[sha] = v;
        tree[path] = `${TEXT_REF}${sha}`;
      }
    }
    return JSON.stringify({ ...r, real: { ...r.real, tree } });
  });
  const sorted = Object.fromEntries(Object.keys(texts).sort().map((k) => [k, texts[k]!]));
  writeFileSync(file, [JSON.stringify({ texts: sorted }), ...lines].map((l) => `${l}\n`).join(""));
}

export type LiveMode = "record" | "all" | "sample";

/** POSTFLEET_COMPAT_RECORD=1 → record; POSTFLEET_COMPAT_LIVE=all (or the self-check) → all; else sample. */
export function liveMode(env: NodeJS.ProcessEnv = process.env): LiveMode {
  if (env.POSTFLEET_COMPAT_RECORD === "1") return "record";
  if (env.POSTFLEET_COMPAT_LIVE === "all" || env.POSTFLEET_COMPAT_SUBJECT === "postmulti") return "all";
  return "sample";
}

/** Scenarios checked live although recorded: one in four, a different quarter each day. */
export const SAMPLE_EVERY = 4;

export function inLiveSample(index: number, now: Date = new Date()): boolean {
  const day = Math.floor(now.getTime() / 86_400_000);
  return index % SAMPLE_EVERY === day % SAMPLE_EVERY;
}

/** How the real side of scenario `index` is obtained: its current record, or live (checked against the record if any). */
export function realSource(
  index: number,
  key: string,
  record: ReferenceRecord | undefined,
  mode: LiveMode,
  now?: Date,
): { use: "record"; record: ReferenceRecord } | { use: "live"; check?: ReferenceRecord } {
  const current = record && record.key === key ? record : undefined;
  if (!current || mode !== "sample") return { use: "live", ...(current && mode === "all" ? { check: current } : {}) };
  return inLiveSample(index, now) ? { use: "live", check: current } : { use: "record", record: current };
}
