// The host's instance table for serve-mode requests (facts, config, health,
// service): the primary's settings and every instance, in
// multi_instance_directories order, with postmulti's consistency checks.
import { ClaimTable, checkSharedDirs, loadAllInstances, readPrimary, INSTANCE_PARAMS, type Instance, type InstanceReader, type PrimaryConfig } from "../postmulti/instances.js";
import { PostmultiFatal } from "../postmulti/messages.js";
import { findPostconf } from "../postfix/postconf.js";
import { readPostconf } from "../postfix/postconf-cache.js";
import type { Env } from "../system/process.js";

export interface InstanceTable {
  primary: PrimaryConfig;
  /** Primary first, then multi_instance_directories order. */
  instances: Instance[];
}

/** Reads a secondary's main.cf with the primary's postconf, output captured. */
export function capturedInstanceReader(primary: PrimaryConfig, env: Env, signal?: AbortSignal): InstanceReader {
  return async (dir) => {
    const r = await readPostconf([`${primary.commandDir}/postconf`, "-xc", dir, ...INSTANCE_PARAMS], { env, capture: true, signal });
    return { stdout: r.stdout, exitCode: r.spawnError ? 1 : r.exitCode };
  };
}

export async function loadInstanceTable(env: Env): Promise<InstanceTable> {
  const primary = await readPrimary(findPostconf(env), env);
  const claims = new ClaimTable();
  checkSharedDirs(primary, claims);
  const instances = await loadAllInstances(primary, claims, capturedInstanceReader(primary, env));
  return { primary, instances };
}

/** One instance by multi_instance_name ("-" or "" for the primary), or a "not-found" error. */
export async function findInstance(env: Env, name: string): Promise<InstanceTable & { instance: Instance }> {
  const table = await loadInstanceTable(env);
  const want = name === "" || name === "-" ? null : name;
  const instance = table.instances.find((i) => (want === null ? i.primary : i.name === want));
  if (!instance) throw new PostmultiFatal(`No instance named ${name}`, "not-found");
  return { ...table, instance };
}
