// The records of a run, one JSON object per line: what the journal keeps
// (fsync'd at each one) and what `--events` streams, the same lines in both.
// One definition: the TypeScript types are inferred from it and
// playbooks/events.schema.json is generated from it (`npm run schema` writes
// both schema files; a unit test fails when the file is stale).
//
// Every record has `seq` (1, 2, ... within the run), `ts` (ISO 8601, ms) and
// `type`. Documents and outcomes are the shapes `--json` prints
// (src/orchestrator/run-document.ts), kept loose here: their own contract.
import { z } from "zod";

const hostStatus = z.enum(["ok", "changed", "failed", "unreachable", "skipped"]);
const summary = z.strictObject({ ok: z.int(), changed: z.int(), failed: z.int(), unreachable: z.int(), skipped: z.int() });
/** A host's outcome, as in the run document's `hosts[]` (playbooks: `plays[].batches[].hosts[]`, with `steps`). */
const outcome = z.looseObject({ host: z.string(), status: hostStatus, results: z.array(z.unknown()), durationMs: z.number() });
/** The run document, exactly as the run printed it with --json. */
const document = z.looseObject({ command: z.string(), summary, aborted: z.boolean(), hosts: z.array(outcome) });

const base = { seq: z.int().min(1).describe("1, 2, ... in the order written"), ts: z.iso.datetime().describe("When the record was written (UTC, ms)") };

const canaryPlan = z.strictObject({ hosts: z.array(z.string()), promote: z.enum(["auto", "pause"]), soakMs: z.int().optional() });

export const PlannedPlaySchema = z.strictObject({
  name: z.string(),
  pattern: z.string(),
  order: z.string().optional().describe("Host order before batching (inventory, sorted, shuffle...)"),
  orderSeed: z.int().optional().describe("The shuffle's seed: the same seed, the same order"),
  batches: z.array(z.array(z.string())).describe("The play's hosts in run order, cut into batches"),
  maxFail: z.int().optional(),
  maxFailPerBatch: z.array(z.int()).optional(),
  pauseBetweenBatchesMs: z.int().optional(),
  canary: canaryPlan.optional().describe("A canary stage: batches[0] is its hosts"),
});

const controller = z.strictObject({ hostname: z.string(), pid: z.int(), startTime: z.string().optional().describe("The process's start time (Linux: /proc/PID/stat field 22), to tell a live writer from a reused pid"), user: z.string() });

const RunStart = z.strictObject({
  ...base,
  type: z.literal("run_start"),
  runId: z.string(),
  command: z.string().describe("The run's label, as the document's `command`"),
  kind: z.enum(["playbook", "operation"]),
  argv: z.array(z.string()).describe("The command line; values of -e/--extra-vars are replaced by the redacted `extraVars`"),
  cwd: z.string(),
  controller,
  version: z.string().describe("postfleet's version"),
  playbook: z.strictObject({ path: z.string(), sha256: z.string() }).optional(),
  check: z.boolean().optional(),
  extraVars: z.record(z.string(), z.unknown()).optional().describe("Extra vars, values of secret-looking keys replaced by \"<redacted>\""),
  limit: z.string().optional(),
  inventory: z.array(z.strictObject({ source: z.string(), sha256: z.string().nullable().describe("Of the file, or of a directory's files and names; null for a host list or a missing source") })),
  hosts: z.array(z.string()).describe("Every host the run may reach, in run order"),
  plan: z.strictObject({ plays: z.array(PlannedPlaySchema) }).optional().describe("Playbooks: the plays, their batches and budgets"),
});

export const RecordSchemas = {
  run_start: RunStart,
  play_start: z.strictObject({
    ...base,
    type: z.literal("play_start"),
    play: z.int(),
    name: z.string(),
    hosts: z.array(z.string()),
    batches: z.int(),
    canary: canaryPlan.optional().describe("The play's canary stage: batch 0"),
  }),
  batch_start: z.strictObject({ ...base, type: z.literal("batch_start"), play: z.int(), batch: z.int(), hosts: z.array(z.string()), stage: z.enum(["canary", "rollout"]).optional().describe("A play with a canary: its stage") }),
  stage: z
    .strictObject({ ...base, type: z.literal("stage"), play: z.int(), stage: z.literal("canary"), outcome: z.enum(["promoted", "failed", "aborted", "stopped", "passed"]), detail: z.string() })
    .describe("A play's canary stage ended: promoted to the play's other hosts, or not and why"),
  host_start: z.strictObject({ ...base, type: z.literal("host_start"), host: z.string(), play: z.int().optional(), batch: z.int().optional() }),
  step_start: z.strictObject({ ...base, type: z.literal("step_start"), host: z.string(), step: z.int(), name: z.string(), kind: z.string().optional().describe("The step's type: restart, instances, pause...") }),
  instance: z.strictObject({
    ...base,
    type: z.literal("instance"),
    host: z.string(),
    step: z.int().optional(),
    instance: z.string(),
    state: z.string().describe("stopping, stopped, starting, started, reloading, reloaded, health_gate, healthy, failed, found_running/found_stopped (what a resume found), or `done` (the instance's result in its step)"),
    status: z.enum(["ok", "changed", "failed", "skipped"]).optional(),
    action: z.string().optional(),
    changes: z.array(z.unknown()).optional().describe("main.cf/master.cf changes, before and after"),
    detail: z.string().optional(),
  }),
  step_end: z.strictObject({ ...base, type: z.literal("step_end"), host: z.string(), step: z.int(), name: z.string(), status: hostStatus, detail: z.string().optional() }),
  host_end: z.strictObject({ ...base, type: z.literal("host_end"), host: z.string(), status: hostStatus, play: z.int().optional(), batch: z.int().optional(), outcome }),
  batch_end: z.strictObject({ ...base, type: z.literal("batch_end"), play: z.int(), batch: z.int(), statuses: z.record(z.string(), hostStatus) }),
  play_end: z.strictObject({ ...base, type: z.literal("play_end"), play: z.int(), name: z.string(), stopped: z.string().optional() }),
  budget: z.strictObject({ ...base, type: z.literal("budget"), play: z.int(), failures: z.int(), maxFail: z.int().optional() }),
  interrupt: z.strictObject({ ...base, type: z.literal("interrupt"), reason: z.string() }),
  resume: z.strictObject({
    ...base,
    type: z.literal("resume"),
    controller: controller.describe("The process that continues the run (it writes the records that follow)"),
    argv: z.array(z.string()).describe("The resume's command line (-e values replaced)"),
    version: z.string(),
    forced: z.array(z.strictObject({ source: z.string(), recorded: z.string().nullable(), now: z.string().nullable() })).optional().describe("--force: inventory sources or playbook whose content changed since the run started, accepted"),
    resetBudget: z.boolean().optional().describe("--reset-budget: the plays' failure counts start again from 0"),
    done: z.array(z.string()).describe("Hosts that had finished: not touched again"),
    reexamine: z.array(z.string()).describe("Hosts in flight or stopped before their last step: their instances are looked at first"),
    left: z.array(z.string()).describe("Hosts never reached"),
  }),
  revert_snapshot: z
    .strictObject({
      ...base,
      type: z.literal("revert_snapshot"),
      host: z.string(),
      step: z.int(),
      instance: z.string(),
      sha256: z.record(z.string(), z.string()).describe("Of main.cf and master.cf as kept"),
      path: z.string().optional().describe("The run directory's copy (files 0600), absent when the run has no journal"),
    })
    .describe("on_gate_failure: revert: an instance's main.cf and master.cf kept before the step changed them; the revert's transitions are `instance` records (reverting, restored, reverted, revert_failed)"),
  run_end: z.strictObject({ ...base, type: z.literal("run_end"), exitCode: z.int(), aborted: z.boolean(), summary, document }),
} as const;

export const RunRecordSchema = z.discriminatedUnion("type", Object.values(RecordSchemas) as unknown as [typeof RunStart, ...Array<(typeof RecordSchemas)[keyof typeof RecordSchemas]>]);

export type RunRecord = z.infer<typeof RunRecordSchema>;
export type RecordType = RunRecord["type"];
export type RecordOf<T extends RecordType> = Extract<RunRecord, { type: T }>;
export type PlannedPlay = z.infer<typeof PlannedPlaySchema>;
/** A record before the writer numbers and stamps it. */
export type RecordBody = RunRecord extends infer R ? (R extends RunRecord ? Omit<R, "seq" | "ts"> : never) : never;

/** playbooks/events.schema.json: one record (one line of a journal or of --events). */
export function eventsJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(RunRecordSchema, { io: "output", target: "draft-2020-12" }) as Record<string, unknown>;
  return {
    $schema: schema.$schema,
    $id: "https://postfleet.dev/events.schema.json",
    title: "postfleet run record (one line of a run's journal or of --events)",
    ...Object.fromEntries(Object.entries(schema).filter(([k]) => k !== "$schema")),
  };
}
