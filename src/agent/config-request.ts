// `config` requests (protocol 2): read and set one instance's main.cf and
// master.cf. The current values come from the host's postconf (-n, -d, -F,
// -P); only what differs from the spec is written, with postconf itself
// (-e, -X, -M, -F, -P, -PX), under the host lock.
import { mkdtempSync, copyFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ConfigRequest, ConfigResponse, ConfigSpec } from "../protocol/index.js";
import { ConfigSpecError, defaultsNeeded, mainAfter, planConfig, type ConfigPlan, type CurrentConfig } from "./config-plan.js";
import { masterEntries, parseMasterLines, type MasterEntry } from "./master-cf.js";
import { parsePostconfLines } from "./postconf.js";
import type { RequestContext } from "./request-context.js";
import { postconfRun, requestInstance, RequestError, toAgentError, unknownInstance, type RequestInstance } from "./request-instance.js";

async function readCurrent(ctx: RequestContext, ri: RequestInstance, spec: ConfigSpec): Promise<CurrentConfig> {
  const main = parsePostconfLines((await postconfRun(ctx, ri, ["-n"])).stdout).values;
  const wantDefaults = defaultsNeeded(spec, main);
  // postconf -d warns about (and omits) parameters it does not know: those have no default.
  const defaults = wantDefaults.length ? parsePostconfLines((await postconfRun(ctx, ri, ["-d", ...wantDefaults])).stdout).values : new Map<string, string>();
  let master = new Map<string, MasterEntry>();
  if (spec.master && Object.keys(spec.master).length) {
    const fields = (await postconfRun(ctx, ri, ["-F"])).stdout;
    const params = (await postconfRun(ctx, ri, ["-P"])).stdout;
    const lines = (await postconfRun(ctx, ri, ["-M"])).stdout;
    master = masterEntries(fields, params, lines);
  }
  return { main, defaults, master };
}

/** postconf -M of the instance's master.cf as the plan would leave it: the plan applied to a private copy. */
async function masterAfterDryRun(ctx: RequestContext, ri: RequestInstance, plan: ConfigPlan): Promise<string[]> {
  const masterCommands = plan.commands.filter((c) => c[0] !== "-e" && c[0] !== "-X");
  if (masterCommands.length === 0) return parseMasterLines((await postconfRun(ctx, ri, ["-M"])).stdout);
  const dir = mkdtempSync(join(tmpdir(), "postfleet-config-"));
  try {
    for (const f of ["main.cf", "master.cf"]) copyFileSync(join(ri.instance.configDir, f), join(dir, f));
    for (const args of masterCommands) await postconfRun(ctx, ri, args, dir);
    return parseMasterLines((await postconfRun(ctx, ri, ["-M"], dir)).stdout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function handleConfig(req: ConfigRequest, ctx: RequestContext): Promise<ConfigResponse> {
  const dryRun = req.dryRun === true;
  const answer: ConfigResponse = { id: req.id, op: "config", instance: unknownInstance(req.instance), dryRun, changed: false, changes: [] };
  try {
    if (typeof req.instance !== "string") throw new RequestError("config request needs an instance name", "usage");
    const ri = await requestInstance(ctx.env, req.instance);
    answer.instance = ri.info;
    const spec: ConfigSpec = req.set ?? {};
    const apply = async () => {
      const plan = planConfig(spec, await readCurrent(ctx, ri, spec));
      answer.changes = plan.changes;
      if (!dryRun) {
        for (const args of plan.commands) {
          await postconfRun(ctx, ri, args);
          answer.changed = true;
        }
      }
      return plan;
    };
    const touchesFiles = !dryRun && req.set !== undefined;
    const plan = touchesFiles ? await ctx.withHostLock(`config ${req.instance}`, apply) : await apply();
    if (dryRun) answer.changed = plan.changes.length > 0;
    if (req.read) {
      if (dryRun) {
        const main = parsePostconfLines((await postconfRun(ctx, ri, ["-n"])).stdout).values;
        answer.main = mainAfter(main, plan.changes);
        answer.master = await masterAfterDryRun(ctx, ri, plan);
      } else {
        answer.main = Object.fromEntries(parsePostconfLines((await postconfRun(ctx, ri, ["-n"])).stdout).values);
        answer.master = parseMasterLines((await postconfRun(ctx, ri, ["-M"])).stdout);
      }
    }
  } catch (e) {
    answer.error = e instanceof ConfigSpecError ? { message: e.message, code: "usage" } : toAgentError(e);
  }
  return answer;
}
