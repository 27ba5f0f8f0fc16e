// One operation's run with the progress line, and its output: --json, or the
// human results and recap.
import { exitCodeOf, type RunDocument } from "../orchestrator/run-document.js";
import type { HostOperation } from "../orchestrator/operations.js";
import { renderHosts, renderRecap } from "../report/human.js";
import { attachProgress } from "../report/progress.js";
import type { CliRun } from "./make-run.js";

export interface RunOutput {
  doc: RunDocument;
  exitCode: number;
}

/** Run one operation on every selected host with progress; print --json, or leave human output to the caller. */
export async function runAndReport(ctx: CliRun, op: HostOperation, extra?: (doc: RunDocument) => Record<string, unknown>): Promise<RunOutput> {
  const detach = attachProgress(ctx.run.events, ctx.hosts.length, !ctx.json && !!process.stderr.isTTY);
  let doc: RunDocument;
  try {
    doc = await ctx.run.runOperation(ctx.hosts, op);
  } finally {
    detach();
  }
  if (ctx.json) process.stdout.write(`${JSON.stringify({ ...doc, ...(extra?.(doc) ?? {}) }, null, 2)}\n`);
  return { doc, exitCode: exitCodeOf(doc) };
}

export function printHumanResults(ctx: CliRun, doc: RunDocument): void {
  const o = { color: ctx.color, verbose: (ctx.args.verbose ?? 0) > 0 };
  process.stdout.write(renderHosts(doc.hosts, o));
  process.stdout.write(renderRecap(doc, o));
}
