// `postfleet resume [RUN-ID]`: continue a stopped playbook run (default: the
// newest interrupted or aborted one) with its recorded plan: the same plays,
// batches (recorded order and shuffle seed), budgets (with what was already
// spent, or reset with --reset-budget) and pauses; hosts that finished are
// not touched again, hosts in flight are looked at first (resume-host.ts).
// It goes on writing the run's own journal, so the run's document (and
// `runs show`) covers the whole run, each host once.
import { join, resolve } from "node:path";
import type { Argv, CommandModule, Options } from "yargs";
import { redactArgv, secretValues } from "../../orchestrator/journal/meta.js";
import { appendJournalFile, JournalError, RecordWriter, runsDir, processStartTime, type RecordSink } from "../../orchestrator/journal/store.js";
import { attachRecorder } from "../../orchestrator/journal/recorder.js";
import { acquireResumeLock } from "../../orchestrator/journal/resume-lock.js";
import { resumePlan, type ResumePlan } from "../../orchestrator/journal/resume-plan.js";
import { planPlaybook } from "../../orchestrator/playbook-plan.js";
import { runPlaybook } from "../../orchestrator/playbook-run.js";
import { exitCodeOf } from "../../orchestrator/run-document.js";
import { loadPlaybook, parseExtraVars } from "../../playbook/index.js";
import { attachPlaybookOutput, renderPlaybookRecap } from "../../report/playbook-human.js";
import { attachProgress } from "../../report/progress.js";
import { renderJunit } from "../../report/junit.js";
import { hostname, userInfo } from "node:os";
import { writeFileSync } from "node:fs";
import { makeRun, type CliRun } from "../make-run.js";
import { openInventory } from "../open-inventory.js";
import { UsageError, type HostArgs } from "../host-args.js";
import { HOST_OPTIONS, RECORD_OPTIONS } from "../options.js";
import { checkOutputArgs, eventsSink, humanStream, postfleetVersion, type OutputArgs } from "../recording.js";
import { changedSources, describeChange, findRunToResume, recordedHostArgs, recordedRetry, redactedKeys, type ChangedSource, type StoredRunToResume } from "../resume-setup.js";
import { retryFileOf, updateRetryFile } from "../retry-file.js";
import { terminalPrompt, terminalPromote } from "./run.js";

interface ResumeArgs extends OutputArgs {
  id?: string;
  force: boolean;
  "reset-budget": boolean;
  json: boolean;
  "extra-vars"?: string[];
  "retry-file"?: string;
  retry?: boolean;
  verbose?: number;
  [option: string]: unknown;
}

/** Options of the run that resume may give again (secrets are asked for as the run asked; -i and -l are the run's own). */
const AGAIN = ["ask-become-pass", "vault-password-file", "vault-id", "ask-vault-pass", "private-key", "user", "forks", "timeout", "op-timeout", "agent-persist", "host-key-checking", "become", "become-user"] as const;
const againOptions = Object.fromEntries(
  AGAIN.map((k) => {
    const { default: _none, ...spec } = HOST_OPTIONS[k] as Options;
    return [k, { ...spec, describe: `${spec.describe} (default: as the run had it)` }];
  }),
);

export const resumeCommand: CommandModule<object, ResumeArgs> = {
  command: "resume [id]",
  describe: "Continue an interrupted playbook run where it stopped (default: the newest interrupted run)",
  builder: (y: Argv) =>
    y
      .positional("id", { type: "string", describe: "The run's id (postfleet runs), or `last`; default: the newest interrupted or aborted run" })
      .options(againOptions)
      .options(RECORD_OPTIONS)
      .option("json", { type: "boolean", default: false, describe: "Print the whole run's document (both parts) as JSON" })
      .option("force", { type: "boolean", default: false, describe: "Go on although the playbook or an inventory source changed since the run started (recorded)" })
      .option("reset-budget", { type: "boolean", default: false, describe: "Start the plays' failure counts from 0 again (a run stopped by its budget, after fixing the cause; recorded)" })
      .option("extra-vars", { alias: "e", type: "string", array: true, describe: "Give again extra vars whose values were not stored (secret-looking keys)" })
      .option("retry-file", { type: "string", describe: "Write the hosts still to retry to FILE (default: as the run had it)" })
      .option("retry", { type: "boolean", describe: "Same, to PLAYBOOK.retry beside the playbook" })
      .option("verbose", { alias: "v", type: "count", describe: "More detail" })
      .example("$0 resume", "continue the newest interrupted run")
      .example("$0 resume 20261206T120102345Z-1a2b3c --reset-budget", "continue a run its failure budget stopped") as unknown as Argv<ResumeArgs>,
  handler: async (argv) => {
    checkOutputArgs(argv);
    const dir = runsDir();
    const id = findRunToResume(dir, argv.id, argv["reset-budget"]).run.id;
    const lock = acquireOrRefuse(join(dir, id));
    try {
      // Read again under the lock: a resume that held it until now may have done part of the work, or all.
      await resumeLocked(argv, findRunToResume(dir, id, argv["reset-budget"]));
    } finally {
      lock.release();
    }
  },
};

async function resumeLocked(argv: ResumeArgs, stored: StoredRunToResume): Promise<void> {
  const { start } = stored;
  // The run's own working directory: its relative inventory, playbook and vault paths mean what they meant
  // (this command's own file arguments keep meaning what they mean here).
  for (const k of ["events", "junit", "retry-file"] as const) if (argv[k] && argv[k] !== "-") argv[k] = resolve(argv[k]!);
  process.chdir(start.cwd);
  const changed = changedSources(start, start.cwd);
  if (changed.length && !argv.force)
    throw new UsageError(`run ${stored.run.id} cannot be resumed: changed since it started: ${changed.map(describeChange).join("; ")}; \`postfleet resume ${stored.run.id} --force\` goes on with the new content`);
  const plan = resumePlan(start, stored.records, stored.document, { resetBudget: argv["reset-budget"] });
  if (!plan.reexamine.length && !plan.left.length) {
    const hint = plan.budgetStopped.length ? ` (a play stopped on its failure budget: \`postfleet resume ${stored.run.id} --reset-budget\` goes on with it)` : "";
    throw new UsageError(`run ${stored.run.id} has nothing left to do: every host finished${hint}`);
  }
  await resume(argv, stored, plan, changed);
}

function acquireOrRefuse(runDir: string): { release(): void } {
  try {
    return acquireResumeLock(runDir);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

async function resume(argv: ResumeArgs, stored: StoredRunToResume, plan: ResumePlan, changed: ChangedSource[]): Promise<void> {
  const { start } = stored;
  const playbookPath = start.playbook!.path;
  const recorded = recordedHostArgs(start.argv);
  const given = Object.fromEntries(AGAIN.filter((k) => argv[k] !== undefined && !(Array.isArray(argv[k]) && (argv[k] as unknown[]).every((v) => v === undefined))).map((k) => [k, argv[k]]));
  const args: HostArgs & OutputArgs = { ...recorded, ...given, json: argv.json, "list-hosts": false, ...(argv.verbose !== undefined ? { verbose: argv.verbose } : {}), ...(argv.events ? { events: argv.events } : {}), ...(argv.junit ? { junit: argv.junit } : {}) } as HostArgs & OutputArgs;
  const extraVars = { ...(start.extraVars ?? {}), ...parseExtraVars(argv["extra-vars"] ?? []) };
  const missing = redactedKeys(extraVars);
  if (missing.length) throw new UsageError(`the run's extra vars ${missing.join(", ")} were not stored (secret-looking keys): give them again with -e`);

  const loaded = await openInventory(args, extraVars);
  const playbook = await loadPlaybook(playbookPath, { inventory: loaded.inventory, ...(start.limit !== undefined ? { limit: start.limit } : {}), extraVars, interactive: !!process.stdin.isTTY && !!process.stderr.isTTY });
  const planned = start.plan!.plays;
  if (playbook.plays.length !== planned.length || playbook.plays.some((p, i) => p.name !== planned[i]!.name))
    throw new UsageError(`run ${stored.run.id} cannot be resumed: the playbook's plays are not the run's (${planned.map((p) => p.name).join(", ")}): its plan cannot be carried over`);
  // The recorded plan stands: batches in the recorded order (shuffle seed included), budgets, pauses.
  const exec = planPlaybook(playbook);
  exec.plays = exec.plays.map((p, i) => {
    const r = planned[i]!;
    const { maxFail: _m, maxFailPerBatch: _b, canary: _c, ...rest } = p;
    return { ...rest, ...(r.canary ? { canary: r.canary } : {}), batches: r.batches, hosts: r.batches.flat(), ...(r.maxFail !== undefined ? { maxFail: r.maxFail } : {}), ...(r.maxFailPerBatch ? { maxFailPerBatch: r.maxFailPerBatch } : {}), pauseBetweenBatchesMs: r.pauseBetweenBatchesMs ?? p.pauseBetweenBatchesMs };
  });
  const ctx = await makeRun(args, loaded, start.hosts);
  const out = humanStream(argv);
  const say = (s: string) => (ctx.json ? process.stderr : out).write(s);
  const writer = continueJournal(ctx, stored, argv, secretValues(extraVars));
  try {
    writer.write({
      type: "resume",
      controller: controller(),
      argv: redactArgv(process.argv.slice(2)),
      version: postfleetVersion(),
      ...(changed.length ? { forced: changed.map((c) => ({ source: c.source, recorded: c.recorded, now: c.now })) } : {}),
      ...(argv["reset-budget"] ? { resetBudget: true } : {}),
      done: plan.done,
      reexamine: plan.reexamine,
      left: plan.left,
    });
  } catch (err) {
    writer.close();
    throw new UsageError(`${(err as Error).message}; nothing was started`);
  }
  say(describePlan(stored, plan, changed, argv["reset-budget"]));
  const human = { color: ctx.color && !!out.isTTY, diff: false, check: start.check ?? false, verbose: (argv.verbose ?? 0) > 0 };
  const detachRecorder = attachRecorder(ctx.run.events, writer, ctx.run.settings.stop);
  const detachProgress = attachProgress(ctx.run.events, start.hosts.length, !ctx.json && !!process.stderr.isTTY);
  const detachOutput = ctx.json ? () => undefined : attachPlaybookOutput(ctx.run.events, human, (s) => out.write(s));
  const found: string[] = [];
  const offFound = ctx.run.events.on((e) => {
    if (e.type === "instance" && e.state.startsWith("found_")) found.push(`  ${e.host} ${e.instance}: ${e.detail ?? e.state}\n`);
  });
  let doc;
  try {
    doc = await runPlaybook(ctx.run, exec, { check: start.check ?? false, prompt: terminalPrompt, promote: terminalPromote, resume: plan.plays });
  } finally {
    offFound();
    detachOutput();
    detachProgress();
    detachRecorder();
    writer.close();
  }
  if (argv.junit) writeFileSync(argv.junit, renderJunit(doc));
  if (found.length) say(`\nFound on the hosts taken up again:\n${found.join("")}`);
  if (ctx.json) process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
  else out.write(renderPlaybookRecap(doc, human));
  const was = recordedRetry(start.argv);
  const retryFile = retryFileOf(playbookPath, { file: argv["retry-file"] ?? was.file, retry: argv.retry ?? was.retry });
  if (retryFile) updateRetryFile(retryFile, doc.retryHosts);
  process.exitCode = exitCodeOf(doc);
}

/** The run's journal, appended to (records numbered on), and --events for this part. */
function continueJournal(ctx: CliRun, stored: StoredRunToResume, argv: ResumeArgs, secrets: readonly string[]): RecordWriter {
  const sinks: RecordSink[] = [];
  const events = argv.events ? eventsSink(argv.events) : undefined;
  try {
    sinks.push(appendJournalFile(stored.run.journal));
  } catch (err) {
    events?.close();
    throw new UsageError(`${(err as JournalError).message}; nothing was started`);
  }
  if (events) sinks.push(events);
  const lastSeq = stored.records.at(-1)?.seq ?? 0;
  return new RecordWriter(
    sinks,
    (i, err) => {
      if (i === 0) {
        process.stderr.write(`postfleet: error: the run's journal ${stored.run.journal} cannot be written (${err.message}): starting no new host, the hosts in progress finish\n`);
        ctx.run.halt("journal write failed");
      } else process.stderr.write(`postfleet: warning: --events ${argv.events}: ${err.message}; no further events written\n`);
    },
    true,
    lastSeq,
    secrets,
  );
}

function controller(): { hostname: string; pid: number; startTime?: string; user: string } {
  const st = processStartTime(process.pid);
  let user = "";
  try {
    user = userInfo().username;
  } catch {
    user = String(process.getuid?.() ?? "");
  }
  return { hostname: hostname(), pid: process.pid, ...(st ? { startTime: st } : {}), user };
}

function describePlan(stored: StoredRunToResume, plan: ResumePlan, changed: ChangedSource[], resetBudget: boolean): string {
  const list = (hs: string[]) => (hs.length ? hs.join(", ") : "none");
  const lines = [
    `Resuming run ${stored.run.id} (${stored.run.status}, started ${stored.run.started}): ${stored.run.command}`,
    `  finished before, not touched again: ${list(plan.done)}`,
    `  taken up where they were (instances looked at first): ${list(plan.reexamine)}`,
    `  not reached yet: ${list(plan.left)}`,
    ...plan.plays.flatMap((p, i) => {
      const max = stored.start.plan!.plays[i]!.maxFail;
      return p.ended ? [] : [`  play ${i + 1}: failure budget ${p.failures}${max !== undefined ? ` of ${max}` : ""} spent${resetBudget ? " (reset by --reset-budget)" : " (carried over)"}`];
    }),
    ...changed.map((c) => `  --force: going on although ${describeChange(c)} (recorded)`),
  ];
  return `${lines.join("\n")}\n\n`;
}
