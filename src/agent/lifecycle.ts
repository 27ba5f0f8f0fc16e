// Life-cycle mode (-e): postmulti's manage(). It checks and plans in the
// agent, then hands the file work to Postfix's own postmulti-script with
// the environment postmulti gives it, so the file effects are Postfix's.
// Structured mode adds idempotency (see `alreadyDone`) and pre-checks that
// the script would only report through the mail log.
import { existsSync } from "node:fs";
import type { Effect, InstanceResult } from "../protocol/index.js";
import { cancelledMessage, type Invocation, type Outcome } from "./invocation-context.js";
import { helperEnv, type ExportFlags } from "./environment.js";
import { dash, loadAllInstances, matchesSelection, NAME_PREFIX, parseInstance, type Instance } from "./instances.js";
import { PostmultiFatal, strerror } from "./messages.js";
import type { EditAction } from "./options.js";
import { parsePostconfLines } from "./postconf.js";
import { emptyResult } from "./instance-format.js";
import { isRunning } from "./state.js";
import { runCommand } from "./run-command.js";

/** The wrapper setting that `postmulti -e init` writes (unexpanded). */
const INIT_WRAPPER = "${command_directory}/postmulti -p --";

const SAFE_PUNCT = "!@%-_=+:./";

export function isSafeName(s: string): boolean {
  if (s === "") return false;
  for (const c of s) if (!/[A-Za-z0-9]/.test(c) && !SAFE_PUNCT.includes(c)) return false;
  return true;
}

/** check_name_assignments(). */
export function checkNameAssignments(name: string | null, group: string | null): void {
  if (name) {
    if (!isSafeName(name)) throw new PostmultiFatal(`Unsafe characters in new instance name: '${name}'`, "usage");
    if (name.includes("/")) throw new PostmultiFatal(`Illegal '/' character in new instance name: '${name}'`, "usage");
    if (name !== "-" && !name.startsWith(NAME_PREFIX))
      throw new PostmultiFatal(`New instance name must start with '${NAME_PREFIX}'`, "usage");
  }
  if (group && !isSafeName(group)) throw new PostmultiFatal(`Unsafe characters in '-G ${group}'`, "usage");
}

/** make_private_path(): the primary's path with its last component replaced by the instance name. */
export function makePrivatePath(param: string, primaryValue: string, name: string | null): string {
  if (!name) throw new PostmultiFatal(`Missing ${param} parameter value`, "usage");
  if (!primaryValue.startsWith("/"))
    throw new PostmultiFatal(`Invalid default ${param} parameter value: '${primaryValue}': specify an absolute pathname`);
  let base = primaryValue;
  let end = base.lastIndexOf("/");
  if (end === base.length - 1) {
    // As in Postfix: this loop starts before the last slash, so a single
    // trailing slash survives it and is then taken as the last separator.
    while (--end > 0 && base[end] === "/") base = base.slice(0, end);
    end = base.lastIndexOf("/");
  }
  while (end > 0 && base[end] === "/") {
    base = base.slice(0, end);
    end--;
  }
  return `${base.length > 1 ? base : ""}/${name}`;
}

interface NewParams {
  configDir: string | null;
  queueDir: string | null;
  dataDir: string | null;
}

/** Postfix's ISSPACE(): ASCII white space only (a non-ASCII blank is part of a name). */
const BLANKS = " \t\n\v\f\r";
const isBlank = (c: string | undefined) => c !== undefined && c !== "" && BLANKS.includes(c);

/**
 * split_nameval(): "name = value", blanks around both trimmed; null when the
 * name is empty or not followed by '=' (Postfix's "missing attribute name",
 * "missing '=' after attribute name").
 */
export function splitNameval(arg: string): { name: string; value: string } | null {
  let i = 0;
  while (isBlank(arg[i])) i++;
  const start = i;
  while (i < arg.length && !isBlank(arg[i]) && arg[i] !== "=") i++;
  if (i === start) return null;
  const name = arg.slice(start, i);
  while (isBlank(arg[i])) i++;
  if (arg[i] !== "=") return null;
  i++;
  while (isBlank(arg[i])) i++;
  let end = arg.length;
  while (end > i && isBlank(arg[end - 1])) end--;
  return { name, value: arg.slice(i, end) };
}

/** assign_new_parameter(): one name=value argument of create/import. */
export function assignNewParameter(p: NewParams, action: EditAction, arg: string): void {
  const nv = splitNameval(arg);
  if (!nv) throw new PostmultiFatal(`Malformed parameter setting '${arg}'`, "usage");
  const { name } = nv;
  let { value } = nv;
  let key: keyof NewParams | null = null;
  if (name === "config_directory") key = "configDir";
  else if (action !== "import" && name === "queue_directory") key = "queueDir";
  else if (action !== "import" && name === "data_directory") key = "dataDir";
  if (key === null) throw new PostmultiFatal(`Parameter '${name}' not valid with action ${action}`, "usage");
  if (!value.startsWith("/")) throw new PostmultiFatal(`Parameter setting '${name}' is not an absolute path`, "usage");
  while (value.length > 1 && value.endsWith("/")) value = value.slice(0, -1);
  if (value === "/") throw new PostmultiFatal(`Parameter setting '${name}' is the root directory`, "usage");
  p[key] = value;
}

interface Plan {
  action: EditAction;
  target: Instance;
  /** The target before the operation (null for a new instance). */
  before: Instance | null;
  flags: ExportFlags;
  secondaries: Instance[];
  /** Structured mode: why nothing needs to be done. */
  noop?: string;
}

/** Select an existing instance by -i (select_existing_instance()). */
function selectExisting(s: Invocation, list: Instance[], unlink: boolean): { ip: Instance; index: number } {
  const sel = s.opts.selection;
  if (sel.type !== "name") throw new PostmultiFatal("Select an instance via '-i name'", "usage");
  const index = list.findIndex((ip) => matchesSelection(ip, sel));
  if (index < 0) throw new PostmultiFatal(`No instance named ${sel.name}`, "not-found");
  const ip = list[index]!;
  if (unlink) {
    if (index === 0) throw new PostmultiFatal("Cannot remove the primary instance", "conflict");
    if (ip.enabled) throw new PostmultiFatal("Cannot remove enabled instances", "conflict");
  }
  return { ip, index };
}

/** do_name_assignments(): returns which of name/group change. */
function assignNames(s: Invocation, target: Instance): { name: boolean; group: boolean } {
  const { assignName, assignGroup } = s.opts;
  const out = { name: false, group: false };
  if (assignName !== null && assignName !== (target.name ?? "")) {
    s.claims.claim(target.configDir, "multi_instance_name", assignName);
    target.name = assignName === "" ? null : assignName;
    out.name = true;
  }
  if (assignGroup !== null && assignGroup !== (target.group ?? "")) {
    target.group = assignGroup === "" ? null : assignGroup;
    out.group = true;
  }
  return out;
}

async function planEdit(s: Invocation, action: EditAction): Promise<Plan> {
  const { primary } = s;
  const noFlags: ExportFlags = { dirs: false, name: false, group: false };
  if (action === "init") {
    const target: Instance = {
      configDir: primary.configDir,
      queueDir: primary.queueDir,
      dataDir: primary.dataDir,
      name: primary.name || null,
      group: primary.group || null,
      enabled: primary.enable,
      primary: true,
    };
    const plan: Plan = { action, target, before: { ...target }, flags: noFlags, secondaries: [] };
    if (s.ctx.structured) {
      const raw = await rawValues(s, primary.configDir, ["multi_instance_wrapper", "multi_instance_enable"]);
      if (raw.get("multi_instance_wrapper") === INIT_WRAPPER && raw.get("multi_instance_enable") === "yes")
        plan.noop = "multi-instance management already initialized";
    }
    return plan;
  }
  const list = await loadAllInstances(primary, s.claims, s.readInstance);
  if (action === "create" || action === "import") {
    const done = s.ctx.structured ? alreadyDone(s, action, list) : null;
    if (done) return done;
    return planAdd(s, action, list);
  }
  if (action === "destroy" || action === "deport") {
    let found: { ip: Instance; index: number };
    try {
      found = selectExisting(s, list, true);
    } catch (e) {
      // Structured mode: removing an instance that is not there is already done.
      if (s.ctx.structured && e instanceof PostmultiFatal && e.code === "not-found") {
        const sel = s.opts.selection as { name: string };
        const ghost: Instance = { configDir: sel.name, queueDir: "", dataDir: "", name: null, group: null, enabled: false, primary: false };
        return { action, target: ghost, before: null, flags: noFlags, secondaries: list.slice(1), noop: `no instance named ${sel.name}` };
      }
      throw e;
    }
    const rest = list.filter((_, i) => i !== found.index);
    return { action, target: found.ip, before: { ...found.ip }, flags: { ...noFlags, dirs: true }, secondaries: rest.slice(1) };
  }
  const { ip } = selectExisting(s, list, false);
  const before = { ...ip };
  if (action === "assign") {
    checkNameAssignments(s.opts.assignName, s.opts.assignGroup);
    const changed = assignNames(s, ip);
    const plan: Plan = { action, target: ip, before, flags: { dirs: false, ...changed }, secondaries: list.slice(1) };
    if (!changed.name && !changed.group) plan.noop = "name and group already assigned";
    return plan;
  }
  // enable / disable
  const plan: Plan = { action, target: ip, before, flags: noFlags, secondaries: list.slice(1) };
  if (s.ctx.structured) {
    const current = ip.primary ? primary.enable : ip.enabled;
    if (current === (action === "enable")) plan.noop = `already ${action}d`;
  }
  return plan;
}

/** install_new_instance(): create or import. */
async function planAdd(s: Invocation, action: "create" | "import", list: Instance[]): Promise<Plan> {
  const { primary, opts } = s;
  checkNameAssignments(opts.assignName, opts.assignGroup);
  const p: NewParams = { configDir: null, queueDir: null, dataDir: null };
  for (const arg of opts.args) assignNewParameter(p, action, arg);
  const configDir = p.configDir ?? makePrivatePath("config_directory", primary.configDir, opts.assignName);
  const owner = s.claims.ownerOf(configDir);
  if (owner !== undefined)
    throw new PostmultiFatal(`new config_directory=${configDir} is already in use by instance ${owner}=${configDir}`, "conflict");
  let target: Instance;
  if (action === "create") {
    target = {
      configDir,
      queueDir: p.queueDir ?? makePrivatePath("queue_directory", primary.queueDir, opts.assignName),
      dataDir: p.dataDir ?? makePrivatePath("data_directory", primary.dataDir, opts.assignName),
      name: null,
      group: null,
      enabled: false,
      primary: false,
    };
  } else {
    target = { configDir, ...parseInstance(configDir, await s.readInstance(configDir)), primary: false };
  }
  const before = action === "import" ? { ...target } : null;
  const changed = assignNames(s, target);
  s.claims.claimInstance(target);
  // insert_instance(): before the first matching secondary, else at the end.
  const secondaries = list.slice(1);
  const sel = opts.selection;
  let at = secondaries.length;
  if (sel.type !== "none") {
    const i = secondaries.findIndex((ip) => matchesSelection(ip, sel));
    if (i >= 0) at = i;
    else if (sel.type !== "all") throw new PostmultiFatal("No matching secondary instances", "not-found");
  }
  secondaries.splice(at, 0, target);
  return { action, target, before, flags: { dirs: true, ...changed }, secondaries };
}

/**
 * Structured mode: create/import of an instance that is already managed with
 * the same name, group and directories is done; with different ones it is a
 * conflict, reported precisely.
 */
function alreadyDone(s: Invocation, action: "create" | "import", list: Instance[]): Plan | null {
  const { primary, opts } = s;
  const p: NewParams = { configDir: null, queueDir: null, dataDir: null };
  let configDir: string;
  try {
    checkNameAssignments(opts.assignName, opts.assignGroup);
    for (const arg of opts.args) assignNewParameter(p, action, arg);
    configDir = p.configDir ?? makePrivatePath("config_directory", primary.configDir, opts.assignName);
  } catch {
    return null; // let the ordinary path report it
  }
  const existing = list.find((ip) => ip.configDir === configDir);
  if (!existing) return null;
  const conflicts: string[] = [];
  if (existing.primary) conflicts.push(`${configDir} is the primary instance`);
  if (opts.assignName !== null && (existing.name ?? "") !== opts.assignName)
    conflicts.push(`multi_instance_name is '${dash(existing.name)}', not '${dash(opts.assignName)}'`);
  if (opts.assignGroup !== null && (existing.group ?? "") !== opts.assignGroup)
    conflicts.push(`multi_instance_group is '${dash(existing.group)}', not '${dash(opts.assignGroup)}'`);
  if (action === "create") {
    const derive = (param: string, primaryValue: string) => {
      try {
        return makePrivatePath(param, primaryValue, opts.assignName);
      } catch {
        return null;
      }
    };
    const q = p.queueDir ?? derive("queue_directory", primary.queueDir);
    const d = p.dataDir ?? derive("data_directory", primary.dataDir);
    if (q !== null && q !== existing.queueDir) conflicts.push(`queue_directory is '${existing.queueDir}', not '${q}'`);
    if (d !== null && d !== existing.dataDir) conflicts.push(`data_directory is '${existing.dataDir}', not '${d}'`);
  }
  if (conflicts.length > 0)
    throw new PostmultiFatal(`instance ${configDir} already exists with different settings: ${conflicts.join("; ")}`, "conflict");
  return {
    action,
    target: existing,
    before: { ...existing },
    flags: { dirs: false, name: false, group: false },
    secondaries: list.slice(1),
    noop: `instance ${configDir} already exists`,
  };
}

/** What postmulti-script refuses with a fatal error, checked beforehand in structured mode. */
function scriptPrecheck(s: Invocation, plan: Plan): string | null {
  const { primary } = s;
  if (plan.action === "init") return null;
  if (primary.wrapper === "") return "multi_instance_wrapper is empty, run 'postmulti -e init' first.";
  if (primary.enable !== true) return "multi_instance_enable!=yes, run 'postmulti -e init' first.";
  const dir = plan.target.configDir;
  const hasMain = existsSync(`${dir}/main.cf`);
  const hasMaster = existsSync(`${dir}/master.cf`);
  switch (plan.action) {
    case "import":
      if (!(hasMain && hasMaster)) {
        if (!hasMain) return `'${dir}' lacks a main.cf file`;
        return `'${dir}' lacks a master.cf file`;
      }
      return null;
    case "create":
      if (!(hasMain && hasMaster)) {
        if (!existsSync(`${primary.metaDir}/main.cf.proto`)) return `Missing main.cf prototype: ${primary.metaDir}/main.cf.proto`;
        if (!existsSync(`${primary.metaDir}/master.cf.proto`)) return `Missing master.cf prototype: ${primary.metaDir}/master.cf.proto`;
      }
      return null;
    case "destroy":
      if (!hasMain) return `${dir}/main.cf file not found`;
      if (isRunning(plan.target.queueDir)) return `Instance '${dir}' is not stopped`;
      return null;
    case "deport":
      if (hasMain && isRunning(plan.target.queueDir)) return `Instance '${dir}' is not stopped`;
      return null;
    default:
      return null;
  }
}

const QUEUE_SUBDIRS = ["active", "bounce", "corrupt", "defer", "deferred", "flush", "hold", "incoming", "maildrop", "pid", "private", "public", "saved", "trace"];

/** What destroy tries to remove, in its order. */
function destroyCandidates(t: Instance): string[] {
  return [...QUEUE_SUBDIRS.map((q) => `${t.queueDir}/${q}`), t.dataDir, t.queueDir, t.configDir];
}

/** Raw (unexpanded) values from a main.cf, for the "from" side of effects. */
async function rawValues(s: Invocation, configDir: string, names: string[]): Promise<Map<string, string>> {
  const r = await runCommand([`${s.primary.commandDir}/postconf`, "-c", configDir, ...names], { env: s.ctx.env, capture: true, signal: s.ctx.signal });
  return parsePostconfLines(r.stdout).values;
}

/** The changes the action makes (postmulti-script's work, modelled). */
async function plannedEffects(s: Invocation, plan: Plan, argv: string[], env: Record<string, string>): Promise<Effect[]> {
  const { primary } = s;
  const t = plan.target;
  const mainCf = (dir: string) => `${dir}/main.cf`;
  const fx: Effect[] = [];
  const setMulti = () =>
    fx.push({
      kind: "set-parameter",
      file: mainCf(primary.configDir),
      name: "multi_instance_directories",
      from: primary.multiDirs,
      to: plan.secondaries.map((i) => i.configDir).join(" "),
    });
  const setNames = () => {
    if (plan.flags.name) fx.push({ kind: "set-parameter", file: mainCf(t.configDir), name: "multi_instance_name", from: plan.before?.name ?? null, to: t.name ?? "" });
    if (plan.flags.group) fx.push({ kind: "set-parameter", file: mainCf(t.configDir), name: "multi_instance_group", from: plan.before?.group ?? null, to: t.group ?? "" });
  };
  switch (plan.action) {
    case "init": {
      const raw = await rawValues(s, primary.configDir, ["multi_instance_wrapper", "multi_instance_enable"]);
      fx.push({ kind: "set-parameter", file: mainCf(primary.configDir), name: "multi_instance_wrapper", from: raw.get("multi_instance_wrapper") ?? null, to: INIT_WRAPPER });
      fx.push({ kind: "set-parameter", file: mainCf(primary.configDir), name: "multi_instance_enable", from: raw.get("multi_instance_enable") ?? null, to: "yes" });
      break;
    }
    case "create":
    case "import": {
      const fresh = !(existsSync(mainCf(t.configDir)) && existsSync(`${t.configDir}/master.cf`));
      if (fresh && plan.action === "create") {
        if (!existsSync(t.configDir)) fx.push({ kind: "create-directory", path: t.configDir, owner: "root", mode: "0755" });
        if (!existsSync(t.queueDir)) fx.push({ kind: "create-directory", path: t.queueDir, owner: "root", mode: "0755" });
        if (!existsSync(t.dataDir)) fx.push({ kind: "create-directory", path: t.dataDir, owner: primary.mailOwner || "postfix", mode: "0700" });
        fx.push({ kind: "write-file", path: mainCf(t.configDir) }, { kind: "write-file", path: `${t.configDir}/master.cf` });
        for (const [name, to] of [
          ["queue_directory", t.queueDir],
          ["data_directory", t.dataDir],
          ["authorized_submit_users", ""],
          ["master_service_disable", "inet"],
        ] as const)
          fx.push({ kind: "set-parameter", file: mainCf(t.configDir), name, from: null, to });
      }
      setNames();
      setMulti();
      fx.push({ kind: "run", argv: [`${primary.commandDir}/postfix`, "-c", t.configDir, "set-permissions"] });
      break;
    }
    case "deport":
      setMulti();
      if (existsSync(mainCf(t.configDir))) {
        const alt = (await rawValues(s, primary.configDir, ["alternate_config_directories"])).get("alternate_config_directories") ?? "";
        if (!alt.split(/[\s,]+/).includes(t.configDir))
          fx.push({ kind: "set-parameter", file: mainCf(primary.configDir), name: "alternate_config_directories", from: alt, to: `${alt ? alt + " " : ""}${t.configDir}` });
      }
      break;
    case "destroy": {
      setMulti();
      for (const q of QUEUE_SUBDIRS)
        if (existsSync(`${t.queueDir}/${q}`)) fx.push({ kind: "remove", path: `${t.queueDir}/${q}` });
      for (const p of [t.dataDir, t.queueDir, `${t.configDir}/master.cf`, mainCf(t.configDir), t.configDir])
        if (existsSync(p)) fx.push({ kind: "remove", path: p });
      break;
    }
    case "enable":
    case "disable":
      fx.push({ kind: "set-parameter", file: mainCf(t.configDir), name: "multi_instance_enable", from: plan.before?.enabled ? "yes" : "no", to: plan.action === "enable" ? "yes" : "no" });
      break;
    case "assign":
      setNames();
      break;
  }
  fx.unshift({ kind: "run", argv, env });
  return fx;
}

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
  const r = await runCommand(argv, { env, capture: ctx.structured, timeoutMs: ctx.structured ? ctx.timeoutMs : undefined, signal: ctx.signal });
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
