// `service` requests (protocol 2): start/stop/reload/restart one instance,
// through systemctl where systemd runs Postfix as postfix@<instance> units,
// else through postfix(1) -c DIR with the environment postmulti gives it.
// postmulti's rules hold either way: a disabled instance is never started
// (`postfix check` runs instead) and stop/reload skip it; start of a running
// instance and stop/reload of a stopped one do nothing.
import type { ServiceRequest, ServiceResponse } from "../../protocol/index.js";
import { postfixCommandEnv } from "../postmulti/environment.js";
import type { RequestContext } from "../serve/request-context.js";
import { abortError, requestInstance, RequestError, toAgentError, unknownInstance, type RequestInstance } from "./request-instance.js";
import { spawnCommand } from "../system/spawn-command.js";
import { masterPid } from "../postfix/state.js";
import type { Env } from "../system/process.js";
import { systemctlPath, unitName, unitState, usesSystemd } from "../postfix/systemd.js";

const ACTIONS = new Set(["start", "stop", "reload", "restart"]);
const VIAS = new Set(["auto", "systemd", "postfix"]);

type Action = ServiceRequest["action"];

interface Step {
  argv: string[];
  env: Env;
}

/** What runs for `action`, given whether the instance runs now (null: nothing to do, with the reason). */
export function serviceSteps(
  action: Action,
  running: boolean,
  postfix: (word: string) => Step,
  systemctl: ((verb: string) => Step) | null,
): { steps: Step[] } | { skipped: string } {
  if (action === "start" && running) return { skipped: "already running" };
  if ((action === "stop" || action === "reload") && !running) return { skipped: "not running" };
  if (systemctl) return { steps: [systemctl(action)] };
  if (action === "restart") return { steps: running ? [postfix("stop"), postfix("start")] : [postfix("start")] };
  return { steps: [postfix(action)] };
}

/** The argv reported for several steps: "a ... && b ...". */
const joinSteps = (steps: Step[]) => steps.flatMap((s, i) => (i ? ["&&", ...s.argv] : s.argv));

async function pickVia(req: ServiceRequest, ctx: RequestContext, ri: RequestInstance): Promise<"systemd" | "postfix"> {
  const via = req.via ?? "auto";
  if (via === "postfix") return "postfix";
  const systemd = await usesSystemd(ctx.env);
  if (via === "auto") return systemd && unitName(ri.instance) !== null ? "systemd" : "postfix";
  if (!systemd) throw new RequestError("systemd does not run Postfix on this host (no postfix@.service unit under a running systemd)", "failed");
  if (unitName(ri.instance) === null) throw new RequestError(`instance ${ri.instance.configDir} has no multi_instance_name, so no postfix@ unit`, "usage");
  return "systemd";
}

export async function handleService(req: ServiceRequest, ctx: RequestContext): Promise<ServiceResponse> {
  const started = Date.now();
  const dryRun = req.dryRun === true;
  const answer: ServiceResponse = {
    id: req.id,
    op: "service",
    instance: unknownInstance(String(req.instance)),
    action: req.action,
    via: "postfix",
    command: null,
    exitCode: 0,
    stdout: "",
    stderr: "",
    durationMs: 0,
    changed: false,
    dryRun,
  };
  try {
    if (typeof req.instance !== "string") throw new RequestError("service request needs an instance name", "usage");
    if (!ACTIONS.has(req.action)) throw new RequestError(`unknown service action: ${JSON.stringify(req.action)} (start, stop, reload, restart)`, "usage");
    if (req.via !== undefined && !VIAS.has(req.via)) throw new RequestError(`unknown via: ${JSON.stringify(req.via)} (auto, systemd, postfix)`, "usage");
    const ri = await requestInstance(ctx.env, req.instance);
    answer.instance = ri.info;
    answer.via = await pickVia(req, ctx, ri);
    const timeoutMs = req.timeoutMs ?? ctx.timeoutMs;
    const dir = ri.instance.configDir;
    const postfix = (word: string): Step => ({ argv: [ri.postfix, "-c", dir, word], env: postfixCommandEnv(ri.base, ri.instance) });
    const unit = unitName(ri.instance);
    const systemctl = answer.via === "systemd" ? (verb: string): Step => ({ argv: [systemctlPath(ctx.env) ?? "systemctl", verb, unit!], env: ctx.env }) : null;
    const pid = await masterPid(ri.instance.queueDir);
    const running = pid !== null;

    const run = async (steps: Step[]) => {
      answer.command = joinSteps(steps);
      if (dryRun) return;
      for (const s of steps) {
        const r = await spawnCommand(s.argv, { env: s.env, capture: true, signal: ctx.signal, timeoutMs });
        answer.exitCode = r.spawnError ? 127 : r.exitCode;
        answer.stdout += r.stdout;
        answer.stderr += r.stderr + (r.spawnError ? `cannot run ${s.argv[0]}: ${r.spawnError.message}\n` : "");
        if (r.cancelled) {
          const a = abortError(ctx.signal, s.argv.join(" "));
          throw new RequestError(a.message, a.code);
        }
        if (r.timedOut) throw new RequestError(`${s.argv.join(" ")}: timed out after ${timeoutMs} ms`, "timeout");
        if (answer.exitCode !== 0) throw new RequestError(`${s.argv.join(" ")} failed with exit ${answer.exitCode}${lastLine(r.stderr || r.stdout)}`);
      }
    };

    if (!ri.instance.enabled) {
      // postmulti: start becomes `postfix check`; stop and reload skip disabled instances.
      answer.skipped = "disabled";
      if (req.action === "start" || req.action === "restart") await run([postfix("check")]);
    } else {
      const plan = serviceSteps(req.action, running, postfix, systemctl);
      if ("skipped" in plan) answer.skipped = plan.skipped;
      else {
        if (systemctl && running && req.action !== "start") {
          // A master started outside systemd: systemctl would not stop or reload it.
          const state = await unitState(ctx.env, unit!, ctx.signal);
          if (state !== "active" && state !== "reloading")
            throw new RequestError(
              `${unit} is ${state} but the instance's master runs (pid ${pid}): it was started outside systemd; ${req.action} it with via "postfix" or stop it first`,
              "conflict",
            );
        }
        await run(plan.steps);
        if (!dryRun) await verify(req.action, ri, answer);
        answer.changed = true;
      }
    }
  } catch (e) {
    answer.error = toAgentError(e);
    if (answer.exitCode === 0 && answer.command !== null && !dryRun) answer.exitCode = 1;
  }
  answer.durationMs = Date.now() - started;
  return answer;
}

const lastLine = (s: string) => {
  const l = s.trim().split("\n").pop()?.trim();
  return l ? `: ${l}` : "";
};

/** The command said it worked: does the master agree? (systemctl start of an active unit whose master died does nothing.) */
async function verify(action: Action, ri: RequestInstance, answer: ServiceResponse): Promise<void> {
  if (action === "reload") return;
  const running = (await masterPid(ri.instance.queueDir)) !== null;
  if (running !== (action !== "stop"))
    throw new RequestError(`${answer.command!.join(" ")} exited ${answer.exitCode} but the master is ${running ? "still running" : "not running"}`);
}
