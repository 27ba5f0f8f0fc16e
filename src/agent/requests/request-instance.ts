// What the config, health and service handlers share: the instance a request
// names, the environment postmulti would give its commands, postconf runs,
// and how failures become the protocol's AgentError.
import type { AgentError, InstanceInfo } from "../../protocol/index.js";
import { baseEnv } from "../postmulti/environment.js";
import type { Instance, PrimaryConfig } from "../postmulti/instances.js";
import { findInstance } from "./load-instances.js";
import { PostmultiFatal } from "../postmulti/messages.js";
import { postconfFatalText } from "../postfix/postconf.js";
import type { RequestContext } from "../serve/request-context.js";
import { instanceInfo } from "../postmulti/instance-format.js";
import { spawnCommand, type CommandResult } from "../system/spawn-command.js";
import type { Env } from "../system/process.js";

export interface RequestInstance {
  primary: PrimaryConfig;
  instance: Instance;
  info: InstanceInfo;
  /** postmulti's own environment (before MAIL_CONFIG and the -x variables). */
  base: Env;
  postconf: string;
  postfix: string;
}

export async function requestInstance(env: Env, name: string): Promise<RequestInstance> {
  const { primary, instance } = await findInstance(env, name);
  return {
    primary,
    instance,
    info: instanceInfo(instance),
    base: baseEnv(env, primary, 0),
    postconf: `${primary.commandDir}/postconf`,
    postfix: `${primary.commandDir}/postfix`,
  };
}

/** The instance as far as the request names it, for answers where it could not be found. */
export function unknownInstance(name: string): InstanceInfo {
  return { name, group: "-", enabled: false, configDirectory: "", primary: name === "-" };
}

/** A failure that ends a request with this error. */
export class RequestError extends Error {
  constructor(
    message: string,
    readonly code: AgentError["code"] = "failed",
  ) {
    super(message);
  }
}

/** Why `signal` was aborted: the serve loop's request timeout, else a cancel. */
export function abortError(signal: AbortSignal, what: string): AgentError {
  const reason = signal.reason as { name?: string; code?: string; message?: string } | undefined;
  const timeout = reason?.name === "TimeoutError" || reason?.code === "timeout";
  return { message: `${what} ${timeout ? "timed out" : "cancelled"}`, code: timeout ? "timeout" : "cancelled" };
}

export function toAgentError(e: unknown): AgentError {
  if (e instanceof PostmultiFatal || e instanceof RequestError) return { message: e.message, code: e.code };
  return { message: e instanceof Error ? (e.stack ?? e.message) : String(e), code: "internal" };
}

/** Throw the abort as a RequestError when the request was cancelled or timed out. */
export function throwIfAborted(ctx: RequestContext, what: string): void {
  if (ctx.signal.aborted) {
    const e = abortError(ctx.signal, what);
    throw new RequestError(e.message, e.code);
  }
}

/** `postconf -c DIR ARGS`; a failure (or a postconf: fatal) becomes a RequestError with postconf's message. */
export async function postconfRun(ctx: RequestContext, ri: RequestInstance, args: string[], configDir = ri.instance.configDir): Promise<CommandResult> {
  const argv = [ri.postconf, "-c", configDir, ...args];
  const r = await spawnCommand(argv, { env: ctx.env, capture: true, signal: ctx.signal, timeoutMs: ctx.timeoutMs });
  throwIfAborted(ctx, `postconf ${args.join(" ")}`);
  if (r.spawnError) throw new RequestError(`cannot run ${ri.postconf}: ${r.spawnError.message}`);
  if (r.timedOut) throw new RequestError(`${argv.join(" ")}: timed out after ${ctx.timeoutMs} ms`, "timeout");
  if (r.exitCode !== 0 || /postconf: fatal: /.test(r.stderr))
    throw new RequestError(`${argv.join(" ")}: ${postconfFatalText(r.stderr) ?? (r.stderr.trim() || `exit ${r.exitCode}`)}`);
  return r;
}
