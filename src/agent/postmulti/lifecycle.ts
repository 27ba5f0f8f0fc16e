// Life-cycle mode (-e): postmulti's manage(). It checks and plans in the
// agent, then hands the file work to Postfix's own postmulti-script with
// the environment postmulti gives it, so the file effects are Postfix's.
// Structured mode adds idempotency (see `alreadyDone`) and pre-checks that
// the script would only report through the mail log.
// The parts: lifecycle-names.ts, lifecycle-arguments.ts, lifecycle-plan.ts,
// lifecycle-prechecks.ts, lifecycle-effects.ts; this file runs the script.
import { existsSync } from "node:fs";
import type { InstanceResult } from "../../protocol/index.js";
import { cancelledMessage, type Invocation, type Outcome } from "./invocation-context.js";
import { helperEnv } from "./environment.js";
import { PostmultiFatal, strerror } from "./messages.js";
import { emptyResult } from "./instance-format.js";
import { spawnCommand } from "../system/spawn-command.js";
import { plannedEffects } from "./lifecycle-effects.js";
import { planEdit } from "./lifecycle-plan.js";
import { destroyCandidates, scriptPrecheck } from "./lifecycle-prechecks.js";

/** manage(): plan, then run postmulti-script (or, in structured mode, report why not). */
export async function manage(s: Invocation): Promise<Outcome> {
  const { ctx, primary } = s;
  if (s.opts.mode.kind !== "edit") throw new Error("manage() outside edit mode");
  const action = s.opts.mode.action;
  const plan = await planEdit(s, action);
  const script = `${primary.daemonDir}/postmulti-script`;
  const argv = [script, "-e", action];
  const result: InstanceResult = emptyResult(plan.target, argv);
  const outcome: Outcome = { exitCode: 0, results: [result], warnings: s.warnings, stdout: "" };

  // postmulti exits 0 without running the script when assign changes nothing.
  if (plan.noop && (action === "assign" || ctx.structured)) {
    result.command = null;
    result.skipped = plan.noop;
    if (ctx.dryRun) outcome.effects = result.effects = [];
    return outcome;
  }
  const env = helperEnv(s.base, primary, plan.target, plan.flags, plan.secondaries);
  // Plain mode runs the script as postmulti's execl() does (same standard
  // streams, working directory and process group; helperEnv's environment)
  // and adds nothing to what it and its children print: postlog(1) and
  // postfix(1) write to stderr only when it is a terminal, for the agent as
  // for postmulti. Structured mode checks beforehand what the script would
  // refuse (it only logs why) and reports what destroy leaves behind.
  if (ctx.structured) {
    const refused = scriptPrecheck(s, plan);
    if (refused) throw new PostmultiFatal(refused, "failed");
  }
  const leftovers = action === "destroy" && ctx.structured ? destroyCandidates(plan.target) : [];
  const shownEnv: Record<string, string> = {};
  for (const k of ["MAIL_CONFIG", "config_directory", "queue_directory", "data_directory", "multi_instance_directories", "multi_instance_name", "multi_instance_group"])
    if (env[k] !== undefined) shownEnv[k] = env[k]!;
  const effects = ctx.structured ? await plannedEffects(s, plan, argv, shownEnv) : [];
  if (ctx.dryRun) {
    outcome.effects = result.effects = effects;
    result.changed = effects.length > 1;
    return outcome;
  }
  const r = await spawnCommand(argv, { env, capture: ctx.structured, timeoutMs: ctx.structured ? ctx.timeoutMs : undefined, signal: ctx.signal });
  if (r.spawnError) throw new PostmultiFatal(`${script}: ${strerror(r.spawnError)}`, "failed");
  Object.assign(result, { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr, durationMs: r.durationMs });
  if (r.timedOut) result.timedOut = true;
  outcome.exitCode = r.exitCode;
  result.changed = true; // the script ran; even a failing one may have changed files
  // What is still there after destroy (the script warned about each one it could not remove).
  for (const path of leftovers) if (existsSync(path)) s.warnings.push(`${path}: please verify contents and remove by hand`);
  if (r.cancelled) {
    outcome.exitCode = 1;
    outcome.error = { message: cancelledMessage(ctx.signal!, 1, 1), code: "cancelled" };
  } else if (r.timedOut) {
    outcome.exitCode = 1;
    outcome.error = { message: `${script} -e ${action} timed out after ${ctx.timeoutMs} ms`, code: "timeout" };
  } else if (r.exitCode === 0) {
    outcome.effects = result.effects = effects;
    result.enabled = action === "enable" ? true : action === "disable" ? false : result.enabled;
  } else {
    const text = (r.stderr.match(/postmulti-script: fatal: (.*)/) ?? [])[1];
    outcome.error = { message: text ?? `${script} -e ${action} failed with exit status ${r.exitCode}`, code: "failed" };
  }
  return outcome;
}
