// What `postfleet resume` needs before it touches anything: which stored run
// (the newest one that did not finish, by default), whether it may be resumed
// (not running, not finished unless a play stopped on its budget and the
// budget is reset), whether its playbook and inventory sources still hold
// what they held (content hashes), and the original command line's options
// (its -K, vault options and connection flags: secrets are asked for again,
// as the run asked for them; none were stored).
import { readFileSync } from "node:fs";
import yargs from "yargs";
import { REDACTED, sha256, sourceHash } from "../orchestrator/journal/meta.js";
import type { RecordOf, RunRecord } from "../orchestrator/journal/records.js";
import { loadRun, type StoredRun } from "../orchestrator/journal/rebuild.js";
import { listRunIds } from "../orchestrator/journal/store.js";
import type { RunDocument } from "../orchestrator/run-document.js";
import { BUDGET_SPENT } from "../orchestrator/playbook-run.js";
import type { PlaybookDocument } from "../orchestrator/steps/step-results.js";
import { UsageError, type HostArgs } from "./host-args.js";
import { HOST_OPTIONS } from "./options.js";

export interface StoredRunToResume {
  run: StoredRun;
  start: RecordOf<"run_start">;
  records: RunRecord[];
  document: PlaybookDocument;
}

/** The run to resume: `id` (or `last`), else the newest run that was interrupted or aborted (with --reset-budget: or that its failure budget stopped). */
export function findRunToResume(dir: string, id: string | undefined, resetBudget = false): StoredRunToResume {
  const ids = listRunIds(dir);
  let chosen = id === "last" ? ids[0] : id;
  if (chosen === undefined) {
    chosen = ids.find((i) => {
      try {
        const { run, document } = loadRun(dir, i);
        const budgetStopped = "plays" in document && (document as PlaybookDocument).plays.some((p) => p.stopped?.startsWith(BUDGET_SPENT));
        return run.status === "interrupted" || run.status === "aborted" || (resetBudget && budgetStopped);
      } catch {
        return false;
      }
    });
    if (!chosen) throw new UsageError(`no interrupted run to resume in ${dir}${resetBudget ? " and none stopped by its failure budget" : ""} (see postfleet runs)`);
  }
  if (!ids.includes(chosen)) throw new UsageError(`no run '${chosen}' in ${dir} (see postfleet runs)`);
  const { run, records, document } = loadRun(dir, chosen);
  const start = records.find((r): r is RecordOf<"run_start"> => r.type === "run_start")!;
  if (start.kind !== "playbook" || !start.playbook || !start.plan) throw new UsageError(`run ${chosen} (${run.command}) is not a playbook run: only \`postfleet run\` runs can be resumed`);
  if (run.status === "running") {
    const c = lastController(start, records);
    const resumed = records.some((r) => r.type === "resume");
    throw new UsageError(`run ${chosen} is ${resumed ? "being resumed" : "still running"} (pid ${c.pid} on ${c.hostname}): nothing to resume; nothing was started`);
  }
  return { run, start, records, document: document as RunDocument as PlaybookDocument };
}

function lastController(start: RecordOf<"run_start">, records: readonly RunRecord[]): RecordOf<"run_start">["controller"] {
  const resumes = records.filter((r): r is RecordOf<"resume"> => r.type === "resume");
  return resumes.at(-1)?.controller ?? start.controller;
}

export interface ChangedSource {
  source: string;
  recorded: string | null;
  now: string | null;
}

/** The playbook and inventory sources whose content changed since the run started (cwd: the run's). */
export function changedSources(start: RecordOf<"run_start">, cwd: string): ChangedSource[] {
  const out: ChangedSource[] = [];
  if (start.playbook) {
    let now: string | null = null;
    try {
      now = sha256(readFileSync(start.playbook.path));
    } catch {
      // gone: null
    }
    if (now !== start.playbook.sha256) out.push({ source: start.playbook.path, recorded: start.playbook.sha256, now });
  }
  for (const i of start.inventory) {
    const now = sourceHash(i.source, cwd);
    if (now !== i.sha256) out.push({ source: i.source, recorded: i.sha256, now });
  }
  return out;
}

export function describeChange(c: ChangedSource): string {
  const h = (x: string | null) => (x === null ? "missing" : `sha256 ${x.slice(0, 12)}`);
  return `${c.source} (${h(c.recorded)} when the run started, ${h(c.now)} now)`;
}

/** The options the run was started with, from its recorded command line (-e values are recorded apart). */
export function recordedHostArgs(argv: readonly string[]): HostArgs {
  const parsed = yargs([...argv])
    .options(HOST_OPTIONS)
    .option("extra-vars", { alias: "e", type: "string", array: true })
    .parserConfiguration({ "greedy-arrays": false })
    .help(false)
    .version(false)
    .parseSync() as unknown as HostArgs & { _: unknown[]; "retry-file"?: string; retry?: boolean };
  return parsed;
}

/** The run's --retry-file or --retry, from its recorded command line. */
export function recordedRetry(argv: readonly string[]): { file?: string; retry: boolean } {
  const i = argv.findIndex((a) => a === "--retry-file" || a.startsWith("--retry-file="));
  const file = i < 0 ? undefined : argv[i]!.includes("=") ? argv[i]!.slice(argv[i]!.indexOf("=") + 1) : argv[i + 1];
  return { ...(file !== undefined ? { file } : {}), retry: argv.includes("--retry") };
}

/** Keys (dotted) whose values were redacted in the journal and not given again. */
export function redactedKeys(vars: Record<string, unknown>, prefix = ""): string[] {
  return Object.entries(vars).flatMap(([k, v]) =>
    v === REDACTED ? [`${prefix}${k}`] : v && typeof v === "object" && !Array.isArray(v) ? redactedKeys(v as Record<string, unknown>, `${prefix}${k}.`) : [],
  );
}
