// Structured answers: one PostmultiResponse per postmulti invocation, and facts.
import { hostname } from "node:os";
import type { FactsResponse, InstanceFacts, PostmultiResponse } from "../../protocol/index.js";
import type { InvocationContext } from "../postmulti/invocation-context.js";
import { loadInstanceTable } from "../requests/load-instances.js";
import { logToMailLog } from "../postfix/maillog.js";
import { agentError, PostmultiFatal } from "../postmulti/messages.js";
import { runPostmulti } from "../postmulti/postmulti.js";
import { instanceInfo } from "../postmulti/instance-format.js";
import { isRunning, queueCounts } from "../postfix/state.js";
import type { Env } from "../system/process.js";
import { usesSystemd } from "../postfix/systemd.js";
import { AGENT_VERSION } from "../version.js";
import { printable } from "../system/bytes.js";

export async function postmultiResponse(id: number, args: string[], ctx: InvocationContext): Promise<PostmultiResponse> {
  try {
    const o = await runPostmulti(args, ctx);
    const res: PostmultiResponse = {
      id,
      op: "postmulti",
      exitCode: o.exitCode,
      dryRun: ctx.dryRun,
      changed: o.results.some((r) => r.changed),
      results: o.results,
      warnings: o.warnings,
    };
    if (o.error) res.error = o.error;
    if (o.effects) res.effects = o.effects;
    if (o.stdout) res.stdout = o.stdout;
    return res;
  } catch (e) {
    const error = agentError(e);
    error.message = printable(error.message);
    // As postmulti, a fatal error goes to the mail log too; one caused by a cancel is not postmulti's.
    if (!ctx.dryRun && error.code !== "internal" && !ctx.signal?.aborted) await logToMailLog(ctx.env, "fatal", error.message);
    return {
      id,
      op: "postmulti",
      exitCode: 1,
      dryRun: ctx.dryRun,
      changed: false,
      results: [],
      warnings: e instanceof PostmultiFatal ? [...e.preface] : [],
      error,
    };
  }
}

export async function factsResponse(id: number, env: Env, queues: boolean): Promise<FactsResponse> {
  const base = { id, op: "facts" as const, nodeVersion: process.versions.node, agentVersion: AGENT_VERSION, hostname: hostname() };
  try {
    const { primary, instances: list } = await loadInstanceTable(env);
    const instances = list.map((ip): InstanceFacts => {
      const f: InstanceFacts = { ...instanceInfo(ip), queueDirectory: ip.queueDir, dataDirectory: ip.dataDir, running: isRunning(ip.queueDir) };
      if (queues) {
        const q = queueCounts(ip.queueDir);
        if (q.counts) f.queues = q.counts;
        else f.queueError = q.error;
      }
      return f;
    });
    return {
      ...base,
      postfixVersion: primary.mailVersion,
      instances,
      multiInstanceWrapper: primary.wrapper,
      multiInstanceEnable: primary.enable,
      systemd: await usesSystemd(env),
    };
  } catch (e) {
    return { ...base, postfixVersion: "", instances: [], error: agentError(e) };
  }
}
