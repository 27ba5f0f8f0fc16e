// postmulti and run steps: a postmulti(1) command as its raw arguments, and a
// command in each selected instance's context (postmulti -x), argv only,
// through /bin/sh -c only when the playbook asks for `shell: true`.
import type { InstanceFacts, PostmultiResponse } from "../../protocol/index.js";
import { buildCommand } from "../../transport/index.js";
import type { InstanceStepResult } from "./step-results.js";
import { perInstance, type StepContext } from "./step-context.js";

function instanceResults(r: PostmultiResponse, check: boolean): InstanceStepResult[] {
  const out = r.results.map(
    (i): InstanceStepResult => ({
      instance: i.name,
      status: i.exitCode !== 0 ? "failed" : i.skipped ? "skipped" : i.changed ? "changed" : "ok",
      action: i.skipped ? `nothing to do (${i.skipped})` : check ? "would run" : i.exitCode !== 0 ? `exit ${i.exitCode}` : "ran",
      ...(i.command ? { commands: [buildCommand(i.command)] } : {}),
      ...(i.stdout ? { stdout: i.stdout } : {}),
      ...(i.stderr ? { stderr: i.stderr } : {}),
      ...(i.exitCode !== 0 ? { error: `exited with status ${i.exitCode}` } : {}),
      durationMs: i.durationMs,
    }),
  );
  if (r.error || (r.exitCode !== 0 && !out.some((o) => o.status === "failed"))) {
    out.push({ instance: "-", status: "failed", action: "postmulti failed", error: r.error ? `postmulti: fatal: ${r.error.message}` : `postmulti exited with status ${r.exitCode}`, durationMs: 0 });
  }
  return out;
}

export async function postmultiStep(ctx: StepContext, args: string[]): Promise<{ results: InstanceStepResult[]; stdout: string }> {
  ctx.doing(`postmulti ${buildCommand(args)}`);
  const r = await ctx.session.request({ op: "postmulti", args, dryRun: ctx.check, timeoutMs: ctx.opTimeoutMs }, { signal: ctx.hardStop });
  // postmulti may have created, removed or changed instances.
  if (!ctx.check) ctx.invalidateFacts();
  return { results: instanceResults(r, ctx.check), stdout: r.stdout ?? "" };
}

export async function runStep(ctx: StepContext, selected: readonly InstanceFacts[], argv: string[], shell: boolean): Promise<InstanceStepResult[]> {
  const command = shell ? ["/bin/sh", "-c", argv.join(" ")] : argv;
  const out: InstanceStepResult[] = [];
  for (const inst of selected) {
    // A first Ctrl-C: the command runs on no further instance (the one running finishes).
    const why = ctx.interrupted();
    if (why) {
      out.push({ instance: inst.name, status: "skipped", action: `not run (${why})`, durationMs: 0 });
      continue;
    }
    ctx.doing(`run ${buildCommand(command)} for ${inst.name}`);
    if (ctx.check && ctx.predicted(inst.name)) {
      out.push({ instance: inst.name, status: "changed", action: "would run", commands: [buildCommand(command)], durationMs: 0 });
      continue;
    }
    // Select by configuration directory: exact, and works for an unnamed primary.
    const r = await perInstance(out, inst, `run ${buildCommand(command)}`, () =>
      ctx.session.request(
        { op: "postmulti", args: ["-i", inst.configDirectory, "-x", ...command], dryRun: ctx.check, timeoutMs: ctx.opTimeoutMs },
        { signal: ctx.hardStop },
      ),
    );
    const res = instanceResults(r, ctx.check);
    for (const x of res) x.instance = inst.name;
    out.push(...res);
    if (res.some((x) => x.status === "failed")) break;
  }
  return out;
}
