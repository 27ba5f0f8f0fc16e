// Structured answers: one PostmultiResponse per postmulti invocation, and facts.
import { hostname } from "node:os";
import type { FactsResponse, InstanceFacts, PostmultiResponse } from "../protocol/index.js";
import type { RunContext } from "./context.js";
import { ClaimTable, checkSharedDirs, loadAllInstances, readPrimary, INSTANCE_PARAMS } from "./instances.js";
import { logToMailLog } from "./maillog.js";
import { PostmultiFatal } from "./messages.js";
import { findPostconf } from "./postconf.js";
import { agentError, runPostmulti } from "./postmulti.js";
import { instanceInfo } from "./results.js";
import { isRunning, queueCounts } from "./state.js";
import { run } from "./system.js";
import { AGENT_VERSION } from "./version.js";
import { printable } from "./bytes.js";

export function postmultiResponse(id: number, args: string[], ctx: RunContext): PostmultiResponse {
  try {
    const o = runPostmulti(args, ctx);
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
    if (!ctx.dryRun && error.code !== "internal") logToMailLog(ctx.env, "fatal", error.message);
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

export function factsResponse(id: number, ctx: RunContext, queues: boolean): FactsResponse {
  const base = { id, op: "facts" as const, nodeVersion: process.versions.node, agentVersion: AGENT_VERSION, hostname: hostname() };
  try {
    const primary = readPrimary(findPostconf(ctx.env), ctx.env);
    const claims = new ClaimTable();
    checkSharedDirs(primary, claims);
    const list = loadAllInstances(primary, claims, (dir) => {
      const r = run([`${primary.commandDir}/postconf`, "-xc", dir, ...INSTANCE_PARAMS], { env: ctx.env, capture: true });
      return { stdout: r.stdout, exitCode: r.spawnError ? 1 : r.exitCode };
    });
    const instances = list.map((ip): InstanceFacts => {
      const f: InstanceFacts = { ...instanceInfo(ip), queueDirectory: ip.queueDir, dataDirectory: ip.dataDir, running: isRunning(ip.queueDir) };
      if (queues) f.queues = queueCounts(ip.queueDir);
      return f;
    });
    return {
      ...base,
      postfixVersion: primary.mailVersion,
      instances,
      multiInstanceWrapper: primary.wrapper,
      multiInstanceEnable: primary.enable,
    };
  } catch (e) {
    return { ...base, postfixVersion: "", instances: [], error: agentError(e) };
  }
}
