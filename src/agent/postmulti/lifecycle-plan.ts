// Life-cycle mode's plan: which instance an action touches, the instance list
// after it, which names it exports to postmulti-script, and (structured mode)
// why nothing needs doing.
import type { Invocation } from "./invocation-context.js";
import type { ExportFlags } from "./environment.js";
import { dash, loadAllInstances, matchesSelection, parseInstance, type Instance } from "./instances.js";
import { PostmultiFatal } from "./messages.js";
import type { EditAction } from "./options.js";
import { parsePostconfLines } from "../postfix/postconf.js";
import { spawnCommand } from "../system/spawn-command.js";
import { assignNewParameter, type NewParams } from "./lifecycle-arguments.js";
import { checkNameAssignments, makePrivatePath } from "./lifecycle-names.js";

/** The wrapper setting that `postmulti -e init` writes (unexpanded). */
export const INIT_WRAPPER = "${command_directory}/postmulti -p --";

export interface Plan {
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

export async function planEdit(s: Invocation, action: EditAction): Promise<Plan> {
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


/** Raw (unexpanded) values from a main.cf, for the "from" side of effects. */
export async function rawValues(s: Invocation, configDir: string, names: string[]): Promise<Map<string, string>> {
  const r = await spawnCommand([`${s.primary.commandDir}/postconf`, "-c", configDir, ...names], { env: s.ctx.env, capture: true, signal: s.ctx.signal });
  return parsePostconfLines(r.stdout).values;
}
