// The main.cf and master.cf that `postmulti -I NAME [-G GROUP] -e create`
// would give an instance that does not exist yet, built in a private
// temporary directory exactly as Postfix's postmulti-script builds them (its
// create branch: the prototypes, shared install parameters cloned from the
// primary or commented out, the instance's directories, inet services and
// local submission off, then name and group), with the host's own postconf.
// Nothing else on the host is touched: no instance directory, no
// multi_instance_directories edit. `config` requests with `newInstance` diff
// their spec against these files (--check of an instance not created yet).
import { copyFileSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { baseEnv } from "./environment.js";
import { ClaimTable, checkSharedDirs, loadAllInstances, readPrimary, type Instance, type PrimaryConfig } from "./instances.js";
import { checkNameAssignments, makePrivatePath } from "./lifecycle-names.js";
import { capturedInstanceReader } from "../requests/load-instances.js";
import { PostmultiFatal } from "./messages.js";
import { findPostconf, parsePostconfLines } from "../postfix/postconf.js";
import type { RequestContext } from "../serve/request-context.js";
import { postconfRun, RequestError, requestInstance, throwIfAborted, type RequestInstance } from "../requests/request-instance.js";
import { instanceInfo } from "./instance-format.js";

/** postmulti-script's SHARED_PARAMETERS, in its order. */
export const SHARED_PARAMETERS = [
  "command_directory",
  "daemon_directory",
  "meta_directory",
  "mail_owner",
  "setgid_group",
  "sendmail_path",
  "mailq_path",
  "newaliases_path",
  "html_directory",
  "manpage_directory",
  "sample_directory",
  "readme_directory",
  "shlib_directory",
] as const;

/** An instance as a request sees it: on the host, or simulated in a temporary directory. */
export interface ConfigTarget {
  ri: RequestInstance;
  /** Set when simulated: the temporary directory (ri.instance.configDir) and the instance's real one. */
  simulated?: { dir: string; configDir: string };
  /** Remove the temporary directory (no-op for an instance on the host). */
  dispose(): void;
}

/** The named instance; when there is none and `newInstance` is given, the one create would make (simulated). */
export async function configTarget(ctx: RequestContext, name: string, newInstance: { group?: string } | undefined): Promise<ConfigTarget> {
  try {
    return { ri: await requestInstance(ctx.env, name), dispose: () => {} };
  } catch (e) {
    if (!(newInstance && e instanceof PostmultiFatal && e.code === "not-found")) throw e;
  }
  return simulateCreate(ctx, name, newInstance.group);
}

function requestInstanceOf(ctx: RequestContext, primary: PrimaryConfig, instance: Instance): RequestInstance {
  return {
    primary,
    instance,
    info: instanceInfo(instance),
    base: baseEnv(ctx.env, primary, 0),
    postconf: `${primary.commandDir}/postconf`,
    postfix: `${primary.commandDir}/postfix`,
  };
}

/** The new instance as postmulti's install_new_instance() plans it (its checks and fatal texts), then its files. */
async function simulateCreate(ctx: RequestContext, name: string, group: string | undefined): Promise<ConfigTarget> {
  if (group !== undefined && typeof group !== "string") throw new RequestError("newInstance.group must be a string", "usage");
  const primary = await readPrimary(findPostconf(ctx.env), ctx.env);
  const claims = new ClaimTable();
  checkSharedDirs(primary, claims);
  await loadAllInstances(primary, claims, capturedInstanceReader(primary, ctx.env, ctx.signal));
  checkNameAssignments(name, group ?? null);
  const configDir = makePrivatePath("config_directory", primary.configDir, name);
  const owner = claims.ownerOf(configDir);
  if (owner !== undefined)
    throw new PostmultiFatal(`new config_directory=${configDir} is already in use by instance ${owner}=${configDir}`, "conflict");
  const target: Instance = {
    configDir,
    queueDir: makePrivatePath("queue_directory", primary.queueDir, name),
    dataDir: makePrivatePath("data_directory", primary.dataDir, name),
    name,
    group: group ? group : null,
    enabled: false,
    primary: false,
  };
  claims.claimInstance(target); // postmulti's conflicts of name, queue and data directory

  const dir = mkdtempSync(join(tmpdir(), "postfleet-new-instance-"));
  const ri = requestInstanceOf(ctx, primary, { ...target, configDir: dir });
  ri.info = instanceInfo(target);
  const sim: ConfigTarget = { ri, simulated: { dir, configDir }, dispose: () => rmSync(dir, { recursive: true, force: true }) };
  try {
    await buildFiles(ctx, ri, primary, target, dir);
    throwIfAborted(ctx, `config ${name}`);
    return sim;
  } catch (e) {
    sim.dispose();
    throw e;
  }
}

/** postmulti-script -e create's file work, into `dir` instead of the instance's config directory. */
async function buildFiles(ctx: RequestContext, ri: RequestInstance, primary: PrimaryConfig, t: Instance, dir: string): Promise<void> {
  const existing = (f: string) => join(t.configDir, f);
  // The script keeps a config directory that has both files already (left over, not in multi_instance_directories).
  if (existsSync(existing("main.cf")) && existsSync(existing("master.cf"))) {
    for (const f of ["main.cf", "master.cf"]) copyFileSync(existing(f), join(dir, f));
  } else {
    const proto = (f: string) => join(primary.metaDir, `${f}.proto`);
    if (!existsSync(proto("main.cf"))) throw new RequestError(`Missing main.cf prototype: ${proto("main.cf")}`);
    if (!existsSync(proto("master.cf"))) throw new RequestError(`Missing master.cf prototype: ${proto("master.cf")}`);
    copyFileSync(proto("main.cf"), join(dir, "main.cf"));
    // Shared install parameters: cloned where the primary sets them (non-empty), else commented out.
    const set = parsePostconfLines((await postconfRun(ctx, ri, ["-n", ...SHARED_PARAMETERS], primary.configDir)).stdout).values;
    const clone: string[] = [];
    const commentOut: string[] = [];
    for (const p of SHARED_PARAMETERS) {
      const v = set.get(p) ?? "";
      if (v !== "") clone.push(`${p} = ${v}`);
      else commentOut.push(p);
    }
    if (commentOut.length) await postconfRun(ctx, ri, ["-#", ...commentOut], dir);
    await postconfRun(ctx, ri, ["-e", `queue_directory = ${t.queueDir}`, `data_directory = ${t.dataDir}`, "authorized_submit_users =", "master_service_disable = inet", ...clone], dir);
    copyFileSync(proto("master.cf"), join(dir, "master.cf"));
  }
  // assign_names(): a new instance has neither, so each one given is set.
  const names = [...(t.name ? [`multi_instance_name = ${t.name}`] : []), ...(t.group ? [`multi_instance_group = ${t.group}`] : [])];
  if (names.length) await postconfRun(ctx, ri, ["-e", ...names], dir);
}

/** postconf -n of the simulated directory as it reads for the instance itself: `-c` shows up as config_directory. */
export function asInstanceMain(target: ConfigTarget, main: Map<string, string>): Map<string, string> {
  const sim = target.simulated;
  if (sim && main.get("config_directory") === sim.dir) main.set("config_directory", sim.configDir);
  return main;
}
