// Does systemd run this host's Postfix as postfix@<instance> units (Debian's
// postfix@.service template, whose ExecStart is `postmulti -i %i -p start`;
// the primary is postfix@-)? Then start/stop/reload/restart go through
// systemctl, so that systemd's view of the units stays true.
import { existsSync, statSync } from "node:fs";
import type { Instance } from "../postmulti/instances.js";
import { spawnCommand } from "../system/spawn-command.js";
import { which, type Env } from "../system/process.js";

export const UNIT_TEMPLATE = "postfix@.service";
/** Where unit files live, in systemd's search order (Debian keeps package units in /lib and /usr/lib). */
export const UNIT_DIRS = ["/etc/systemd/system", "/run/systemd/system", "/usr/local/lib/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system"];

/** sd_booted(3): systemd is the running init system. */
export function systemdBooted(): boolean {
  try {
    return statSync("/run/systemd/system").isDirectory();
  } catch {
    return false;
  }
}

export function systemctlPath(env: Env): string | null {
  return which("systemctl", env.PATH) ?? which("systemctl", "/usr/bin:/bin");
}

/** True when systemd runs and the postfix@ template unit is installed: `service` requests use systemctl. */
export async function usesSystemd(env: Env): Promise<boolean> {
  return systemdBooted() && systemctlPath(env) !== null && UNIT_DIRS.some((d) => existsSync(`${d}/${UNIT_TEMPLATE}`));
}

/**
 * The instance's unit: postfix@-.service for the primary, postfix@NAME.service
 * otherwise. null for a secondary without a multi_instance_name (the unit's
 * %i goes to `postmulti -i` unescaped only for plain names).
 */
export function unitName(ip: Instance): string | null {
  if (ip.primary) return "postfix@-.service";
  if (ip.name === null || !/^[A-Za-z0-9_.:-]+$/.test(ip.name)) return null;
  return `postfix@${ip.name}.service`;
}

/** `systemctl is-active UNIT`: active, inactive, failed, activating, ... */
export async function unitState(env: Env, unit: string, signal?: AbortSignal): Promise<string> {
  const r = await spawnCommand([systemctlPath(env) ?? "systemctl", "is-active", unit], { env, capture: true, signal });
  return r.stdout.trim() || (r.spawnError ? "unknown" : "inactive");
}
