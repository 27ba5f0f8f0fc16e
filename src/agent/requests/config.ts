// `config` requests (protocol 2): read and set one instance's main.cf and
// master.cf. The current values come from the host's postconf (-n, -d, -F,
// -P); only what differs from the spec is written, with postconf itself
// (-e, -X, -M, -F, -P, -PX), under the host lock, on staged copies renamed
// into place when every write succeeded. With `newInstance` (dry
// run) an instance that does not exist yet is answered for from the files
// `postmulti -e create` would give it (new-instance.ts), with the same diff.
import { mkdtempSync, copyFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ConfigRequest, ConfigResponse, ConfigSpec } from "../../protocol/index.js";
import { ConfigSpecError, defaultsNeeded, mainAfter, planConfig, type ConfigPlan, type CurrentConfig } from "./config-plan.js";
import { masterEntries, parseMasterLines, type MasterEntry } from "../postfix/master-cf.js";
import { asInstanceMain, configTarget, type ConfigTarget } from "../postmulti/new-instance.js";
import { parsePostconfLines } from "../postfix/postconf.js";
import type { RequestContext } from "../serve/request-context.js";
import { stagedEdit } from "../postfix/staged-edit.js";
import { postconfRun, RequestError, toAgentError, unknownInstance, type RequestInstance } from "./request-instance.js";

/** postconf -n of the target (a simulated instance's as it will read in its own directory). */
async function readMain(ctx: RequestContext, t: ConfigTarget, dir?: string): Promise<Map<string, string>> {
  return asInstanceMain(t, parsePostconfLines((await postconfRun(ctx, t.ri, ["-n"], dir)).stdout).values);
}

/** The target's configuration, from its own files or from copies of them in `dir`. */
async function readCurrent(ctx: RequestContext, t: ConfigTarget, spec: ConfigSpec, dir?: string): Promise<CurrentConfig> {
  const ri = t.ri;
  const main = await readMain(ctx, t, dir);
  const wantDefaults = defaultsNeeded(spec, main);
  // postconf -d warns about (and omits) parameters it does not know: those have no default.
  const defaults = wantDefaults.length ? parsePostconfLines((await postconfRun(ctx, ri, ["-d", ...wantDefaults], dir)).stdout).values : new Map<string, string>();
  let master = new Map<string, MasterEntry>();
  if (spec.master && Object.keys(spec.master).length) {
    const fields = (await postconfRun(ctx, ri, ["-F"], dir)).stdout;
    const params = (await postconfRun(ctx, ri, ["-P"], dir)).stdout;
    const lines = (await postconfRun(ctx, ri, ["-M"], dir)).stdout;
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
  let target: ConfigTarget | undefined;
  try {
    if (typeof req.instance !== "string") throw new RequestError("config request needs an instance name", "usage");
    if (req.newInstance !== undefined) {
      if (typeof req.newInstance !== "object" || req.newInstance === null) throw new RequestError("newInstance must be an object ({ group? })", "usage");
      if (!dryRun) throw new RequestError("newInstance is for dry runs only: create the instance first (postmulti -e create)", "usage");
    }
    const t = (target = await configTarget(ctx, req.instance, req.newInstance));
    const ri = t.ri;
    answer.instance = ri.info;
    const spec: ConfigSpec = req.set ?? {};
    const apply = async () => {
      let plan = planConfig(spec, await readCurrent(ctx, t, spec));
      answer.changes = plan.changes;
      if (!dryRun && plan.commands.length) {
        // All of the request's writes, or none, reach each file (staged-edit.ts). When
        // another writer changed a file meanwhile, the edit is planned and made again
        // on fresh copies, so that writer's change stays.
        const edit = async (stage: string, attempt: number) => {
          if (attempt > 0) plan = planConfig(spec, await readCurrent(ctx, t, spec, stage));
          for (const args of plan.commands) await postconfRun(ctx, ri, args, stage);
        };
        await stagedEdit(ri.instance.configDir, edit, { signal: ctx.signal });
        answer.changes = plan.changes;
        answer.changed = plan.commands.length > 0;
      }
      return plan;
    };
    const touchesFiles = !dryRun && req.set !== undefined;
    const plan = touchesFiles ? await ctx.withHostLock(`config ${req.instance}`, apply) : await apply();
    if (dryRun) answer.changed = plan.changes.length > 0;
    if (req.read) {
      if (t.simulated) {
        // The simulated files are private: apply the plan to them and read them back, as postconf leaves them.
        for (const args of plan.commands) await postconfRun(ctx, ri, args);
        answer.main = Object.fromEntries(await readMain(ctx, t));
        answer.master = parseMasterLines((await postconfRun(ctx, ri, ["-M"])).stdout);
      } else if (dryRun) {
        answer.main = mainAfter(await readMain(ctx, t), plan.changes);
        answer.master = await masterAfterDryRun(ctx, ri, plan);
      } else {
        answer.main = Object.fromEntries(await readMain(ctx, t));
        answer.master = parseMasterLines((await postconfRun(ctx, ri, ["-M"])).stdout);
      }
    }
  } catch (e) {
    answer.error = e instanceof ConfigSpecError ? { message: e.message, code: "usage" } : toAgentError(e);
  } finally {
    target?.dispose();
  }
  return answer;
}
