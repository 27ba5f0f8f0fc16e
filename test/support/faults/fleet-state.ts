// "Each host's reported state matches what is on it", for one-command runs
// (postfleet postmulti): what the --json document says about a host against
// its instances' files and processes after the run.
import type { TestLabHost } from "../lab.js";
import type { HostState } from "./host-checks.js";
import { mainParams } from "./host-checks.js";

export type FleetAction = { kind: "start" } | { kind: "stop" } | { kind: "edit"; settings: Record<string, string> };

const dirOf = (row: { instance: string; configDirectory?: string }) =>
  row.configDirectory ?? (row.instance === "-" ? "/etc/postfix" : `/etc/${row.instance}`);

/** Is this instance (config directory) in the state the action leaves it in? */
function done(action: FleetAction, dir: string, s: HostState): boolean {
  if (action.kind === "start") return s.running[dir] === true;
  if (action.kind === "stop") return s.running[dir] === false;
  const p = mainParams(s.config[dir]);
  return Object.entries(action.settings).every(([k, v]) => p[k] === v);
}

/**
 * Problems with a host's report: ok/changed but some instance not done; an
 * instance reported done that is not; skipped (never attempted) but changed;
 * failed/unreachable without saying why. `finishes`: the host had no fault,
 * so it must have finished (ok/changed) unless the run was interrupted.
 */
export function fleetStated(action: FleetAction, finishes: boolean) {
  return (doc: any | null, host: TestLabHost, before: HostState, now: HostState): string[] => {
    if (!doc) return []; // a killed controller reports nothing; files are checked whole, and rerun
    const h = doc.hosts?.find((x: any) => x.host === host.name);
    if (!h) return ["missing from the document"];
    const out: string[] = [];
    const dirs = Object.keys(now.running);
    // Every instance of the fault labs is enabled, so -p start/stop and -x act on all of them.
    const targets = dirs;
    switch (h.status) {
      case "ok":
      case "changed":
        for (const d of targets) if (!done(action, d, now)) out.push(`reported ${h.status} but ${d} is not ${action.kind === "edit" ? "edited" : action.kind + "ed"}`);
        break;
      case "skipped":
        if (JSON.stringify(now) !== JSON.stringify(before)) out.push("reported skipped (never attempted) but its state changed");
        if (finishes && !doc.aborted) out.push("skipped although nothing stopped the run");
        break;
      default:
        if (!h.error) out.push(`${h.status} without an error`);
        if (finishes) out.push(`${h.status} although no fault touched it: ${h.error}`);
        for (const r of h.results ?? []) if (r.command && r.exitCode === 0 && !r.skipped && !done(action, dirOf(r), now)) out.push(`reported ${r.instance} done, it is not`);
    }
    return out;
  };
}
