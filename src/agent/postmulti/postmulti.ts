// One postmulti(1) invocation: start-up (main.cf, MAIL_CONFIG, options,
// shared directories), then iterator mode or life-cycle mode. Produces a
// structured Outcome; plain postmulti output is printed from it (-l) or as
// it happens (commands' own output, fatal errors of children).
import type { InstanceResult } from "../../protocol/index.js";
import { cancelledMessage, type Invocation, type InvocationContext, type Outcome } from "./invocation-context.js";
import { baseEnv, genericCommandEnv, postfixCommandEnv } from "./environment.js";
import {
  ClaimTable,
  checkSharedDirs,
  iterationOrder,
  loadAllInstances,
  postfixCommandFlags,
  readPrimary,
  INSTANCE_PARAMS,
  type Instance,
  type IterFlags,
} from "./instances.js";
import { manage } from "./lifecycle.js";
import { logToMailLog } from "../postfix/maillog.js";
import { printable } from "../system/bytes.js";
import { PostmultiFatal, strerror } from "./messages.js";
import { parsePostmultiArgs } from "./options.js";
import { findPostconf, postconf } from "../postfix/postconf.js";
import { parsePostconfEdit, postconfEditEffects } from "./postconf-edit.js";
import { emptyResult, listJsonLine, listLine } from "./instance-format.js";
import { configSnapshot, isRunning } from "../postfix/state.js";
import { readPostconf } from "../postfix/postconf-cache.js";
import { spawnCommand } from "../system/spawn-command.js";

/** Start-up and dispatch. Throws PostmultiFatal for postmulti's fatal errors. */
export async function runPostmulti(argv: string[], ctx: InvocationContext): Promise<Outcome> {
  const postconfPath = findPostconf(ctx.env);
  // mail_conf_read() comes first: a bad MAIL_CONFIG fails even before option parsing.
  const primary = await readPrimary(postconfPath, ctx.env);
  const mailConfig = ctx.env.MAIL_CONFIG;
  if (mailConfig !== undefined) {
    const defEnv = { ...ctx.env };
    delete defEnv.MAIL_CONFIG;
    const def = (await postconf(postconfPath, ["-d", "config_directory"], defEnv)).values.get("config_directory") ?? "/etc/postfix";
    if (mailConfig !== def) throw new PostmultiFatal(`Non-default configuration directory: MAIL_CONFIG=${mailConfig}`, "usage");
  }
  const opts = parsePostmultiArgs(argv);
  const claims = new ClaimTable();
  checkSharedDirs(primary, claims);
  const warnings: string[] = [];
  const s: Invocation = {
    ctx,
    opts,
    primary,
    claims,
    base: baseEnv(ctx.env, primary, opts.verbose),
    warnings,
    readInstance: async (dir) => {
      const r = await readPostconf([`${primary.commandDir}/postconf`, "-xc", dir, ...INSTANCE_PARAMS], {
        env: ctx.env,
        capture: true,
        stderrThrough: !ctx.structured,
        signal: ctx.signal,
      });
      if (ctx.structured && r.stderr.trim() !== "") warnings.push(...r.stderr.trim().split("\n"));
      if (r.spawnError) await childFatal(s, `vstream_popen: execvp ${primary.commandDir}/postconf: ${strerror(r.spawnError)}`);
      return { stdout: r.stdout, exitCode: r.spawnError ? 1 : r.exitCode };
    },
  };
  // Under the lock, main.cf is read again: another agent may have changed it meanwhile.
  const reread = async () => {
    s.primary = await readPrimary(postconfPath, ctx.env);
    s.base = baseEnv(ctx.env, s.primary, opts.verbose);
  };
  if (opts.mode.kind === "edit") return withLock(s, `postmulti -e ${opts.mode.action}`, reread, () => manage(s));
  if (opts.mode.iter === "generic") return withLock(s, `postmulti -x ${opts.args.join(" ")}`, reread, () => iterate(s));
  return iterate(s);
}

/** Configuration edits run under the host lock (not in dry-run, and only as root, who owns the lock). */
async function withLock(s: Invocation, what: string, locked: () => Promise<void>, body: () => Promise<Outcome>): Promise<Outcome> {
  if (s.ctx.dryRun || (process.geteuid?.() ?? 0) !== 0) return body();
  return s.ctx.withHostLock(what, async () => {
    await locked();
    return body();
  });
}

async function iterate(s: Invocation): Promise<Outcome> {
  const { opts, primary, ctx } = s;
  const selection = opts.selection.type === "none" ? ({ type: "all" } as const) : opts.selection;
  const instances = await loadAllInstances(primary, s.claims, s.readInstance);
  const mode = opts.mode.kind === "iterate" ? opts.mode.iter : "list";

  if (mode === "list") {
    const listed = iterationOrder(instances, { reverse: opts.reverse, checkDisabled: false, skipDisabled: false }, selection);
    const stdout = listed.map((ip) => (opts.json ? listJsonLine(ip) : listLine(ip))).join("");
    if (!ctx.structured) ctx.stdout(stdout);
    return { exitCode: 0, results: listed.map((ip) => emptyResult(ip)), warnings: s.warnings, stdout };
  }

  let flags: IterFlags;
  let argv: string[];
  if (mode === "postfix") {
    flags = postfixCommandFlags(primary, opts.args[0]!);
    argv = [`${primary.commandDir}/postfix`, "--", ...opts.args];
  } else {
    flags = { reverse: opts.reverse, checkDisabled: false, skipDisabled: false };
    argv = opts.args;
  }
  const selected = iterationOrder(instances, flags, selection);
  if (selected.length === 0) throw new PostmultiFatal("No matching instances", "not-found");

  let exitCode = 0;
  const results: InstanceResult[] = [];
  for (const ip of selected) {
    if (ctx.signal?.aborted) break; // cancelled: no further instance
    const r = await runForInstance(s, mode, flags, argv, ip);
    if (r.exitCode !== 0) exitCode = 1;
    results.push(r);
  }
  const outcome: Outcome = { exitCode, results, warnings: s.warnings, stdout: "" };
  const late = results.filter((r) => r.timedOut).map((r) => r.configDirectory);
  if (ctx.signal?.aborted) {
    // The results say which instances were done; the last one may have been interrupted.
    outcome.exitCode = 1;
    outcome.error = { message: cancelledMessage(ctx.signal, results.length, selected.length), code: "cancelled" };
  } else if (late.length > 0)
    outcome.error = { message: `command timed out after ${ctx.timeoutMs} ms for ${late.join(", ")}`, code: "timeout" };
  return outcome;
}

const READ_ONLY_POSTFIX_COMMANDS = new Set(["status", "check"]);

/** run_user_command(): one -p or -x command for one instance. */
async function runForInstance(s: Invocation, mode: "postfix" | "generic", flags: IterFlags, argv0: string[], ip: Instance): Promise<InstanceResult> {
  const { ctx, primary } = s;
  const argv = [...argv0];
  if (mode === "postfix" && flags.checkDisabled && !ip.enabled) argv[2] = "check";
  const env = mode === "postfix" ? postfixCommandEnv(s.base, ip) : genericCommandEnv(s.base, primary, ip);
  const result = emptyResult(ip, argv);
  const word = mode === "postfix" ? argv[2]! : "";
  const startLike = mode === "postfix" && flags.checkDisabled && word !== "check";
  const stopLike = mode === "postfix" && flags.reverse && flags.skipDisabled;

  if (ctx.dryRun) {
    const shown: Record<string, string> = { MAIL_CONFIG: ip.configDir };
    if (mode === "generic")
      for (const k of ["config_directory", "queue_directory", "data_directory", "multi_instance_name", "multi_instance_group", "multi_instance_enable"])
        shown[k] = env[k]!;
    result.effects = [{ kind: "run", argv, env: shown }];
    result.changed = !(mode === "postfix" && READ_ONLY_POSTFIX_COMMANDS.has(word));
    if (startLike && isRunning(ip.queueDir)) result.changed = false;
    if (stopLike && !isRunning(ip.queueDir)) result.changed = false;
    const edit = mode === "generic" ? parsePostconfEdit(argv) : null;
    if (edit) {
      const dir = edit.configDir ?? ip.configDir;
      const fx = await postconfEditEffects(`${primary.commandDir}/postconf`, dir, edit, env, ctx.signal);
      result.effects.push(...fx);
      result.changed = fx.some((e) => e.kind === "set-parameter" && e.from !== e.to);
    }
    return result;
  }

  // Structured mode is idempotent: starting a running instance or stopping a
  // stopped one is "ok, not changed" instead of postfix(1)'s fatal error.
  const wasRunning = mode === "postfix" ? isRunning(ip.queueDir) : false;
  if (ctx.structured && ((startLike && wasRunning) || (stopLike && !wasRunning))) {
    result.command = null;
    result.skipped = startLike ? "already running" : "not running";
    return result;
  }
  const before = mode === "generic" ? configSnapshot(ip.configDir) : "";
  const r = await spawnCommand(argv, { env, capture: ctx.structured, timeoutMs: ctx.structured ? ctx.timeoutMs : undefined, signal: ctx.signal });
  result.exitCode = r.exitCode;
  result.stdout = r.stdout;
  result.stderr = r.stderr;
  result.durationMs = r.durationMs;
  if (r.spawnError) {
    // The forked child reports the failed execvp() and exits 1.
    const msg = `execvp ${argv[0]}: ${strerror(r.spawnError)}`;
    result.exitCode = 1;
    if (ctx.structured) result.stderr += `postmulti: fatal: ${msg}\n`;
    await childFatal(s, msg, false);
    return result;
  }
  if (r.timedOut) {
    result.exitCode = 1;
    result.timedOut = true;
    result.stderr += `postfleet-agent: command timed out after ${ctx.timeoutMs} ms\n`;
  }
  if (r.cancelled) {
    result.exitCode = 1;
    result.stderr += `postfleet-agent: command cancelled\n`;
  }
  if (mode === "generic") result.changed = configSnapshot(ip.configDir) !== before;
  else if (READ_ONLY_POSTFIX_COMMANDS.has(word)) result.changed = false;
  else if (startLike || stopLike) result.changed = isRunning(ip.queueDir) !== wasRunning;
  else result.changed = result.exitCode === 0;
  return result;
}

/**
 * A fatal error of a forked postmulti child (a failed execvp()): it is
 * printed and logged, and the parent goes on.
 */
async function childFatal(s: Invocation, raw: string, asWarning = true): Promise<void> {
  const message = printable(raw);
  if (s.ctx.structured) {
    if (asWarning) s.warnings.push(message);
  } else s.ctx.stderr(`postmulti: fatal: ${message}`);
  if (!s.ctx.dryRun) await logToMailLog(s.ctx.env, "fatal", message);
}
