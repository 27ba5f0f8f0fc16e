// "Each host's reported state matches what is on it", for playbook runs: the
// steps a host's outcome lists (settings, restart, wait) against its files,
// running instances and master pids after the run.
import type { TestLabHost } from "../lab.js";
import type { HostState } from "./host-checks.js";
import { mainParams } from "./host-checks.js";

const queueOf = (dir: string) => dir.replace(/^\/etc\//, "");

/** The host's outcome in the first play that has it. */
function outcome(doc: any, host: string): any | undefined {
  for (const p of doc.plays ?? []) for (const b of p.batches ?? []) for (const h of b.hosts ?? []) if (h.host === host) return h;
  return doc.hosts?.find((h: any) => h.host === host);
}

/**
 * `settings`: what the play's postconf step sets in every instance's main.cf.
 * `finishes`: no fault touched this host and nothing stopped the run, so it
 * must end ok/changed.
 */
export function playbookStated(settings: Record<string, string>, finishes: boolean) {
  return (doc: any | null, host: TestLabHost, before: HostState, now: HostState): string[] => {
    if (!doc) return []; // a killed controller reports nothing: files are checked whole, then a rerun converges
    const h = outcome(doc, host.name);
    if (!h) return ["missing from the document"];
    const out: string[] = [];
    const step = (type: string) => (h.steps ?? []).find((s: any) => s.type === type);
    const dirs = Object.keys(now.running);
    const edited = (d: string) => Object.entries(settings).every(([k, v]) => mainParams(now.config[d])[k] === v);
    const unchanged = (d: string) => now.config[d]?.main === before.config[d]?.main;

    if (h.status === "skipped") {
      if (JSON.stringify(now) !== JSON.stringify(before)) out.push("reported skipped (never attempted) but its state changed");
      if (finishes) out.push(`skipped although nothing stopped the run: ${h.error ?? h.skipped ?? ""}`);
      return out;
    }
    if ((h.status === "failed" || h.status === "unreachable") && !h.error && !(h.steps ?? []).some((s: any) => s.error)) out.push(`${h.status} without saying why`);
    if (finishes && h.status !== "ok" && h.status !== "changed") out.push(`${h.status} although no fault touched it: ${h.error ?? ""}`);

    // Per instance where the step lists them (an interrupt lets the instance in flight finish and skips the rest).
    const instanceDirs = (st: any): Array<[string, string]> =>
      (st?.instances ?? []).map((i: any) => [i.instance === "-" ? "/etc/postfix" : `/etc/${i.instance}`, i.status] as [string, string]);
    const settingsStep = step("postconf");
    const settingsBy = instanceDirs(settingsStep);
    if (settingsBy.length) {
      for (const [d, st] of settingsBy) {
        if ((st === "ok" || st === "changed") && !edited(d)) out.push(`settings ${st} on ${d} but its main.cf lacks them`);
        if (st === "skipped" && !unchanged(d)) out.push(`settings skipped on ${d} but its main.cf changed`);
      }
      for (const d of dirs) if (!settingsBy.some(([x]) => x === d) && !unchanged(d)) out.push(`settings not reported for ${d} but its main.cf changed`);
    } else if (settingsStep?.status === "ok" || settingsStep?.status === "changed") {
      for (const d of dirs) if (!edited(d)) out.push(`settings step ${settingsStep.status} but ${d}/main.cf lacks them`);
    } else if (!settingsStep || settingsStep.status === "skipped") {
      for (const d of dirs) if (!unchanged(d)) out.push(`settings step ${settingsStep ? "skipped" : "not reported"} but ${d}/main.cf changed`);
    }
    const restart = step("restart");
    const restartBy = instanceDirs(restart);
    const restarted = (d: string) => {
      const q = queueOf(d);
      return now.running[d] === true && (before.masters[q] === undefined || now.masters[q] !== before.masters[q]);
    };
    const untouched = (d: string) => now.masters[queueOf(d)] === before.masters[queueOf(d)];
    if (restartBy.length) {
      for (const [d, st] of restartBy) {
        if ((st === "ok" || st === "changed") && !restarted(d)) out.push(`restart ${st} on ${d} but it was not restarted (or is not running)`);
        if (st === "skipped" && !untouched(d)) out.push(`restart skipped on ${d} but its master changed`);
      }
    } else if (restart?.status === "ok" || restart?.status === "changed") {
      for (const d of dirs) if (!restarted(d)) out.push(`restart ${restart.status} but ${d} was not restarted (or is not running)`);
    } else if (!restart) {
      for (const d of dirs) if (!untouched(d)) out.push(`restart not reported but ${d}'s master changed (${before.masters[queueOf(d)]} → ${now.masters[queueOf(d)]})`);
    }
    // Whatever happened, an instance the report does not say is down must run (an interrupted restart starts again what it stopped).
    if (h.status === "ok" || h.status === "changed" || h.incomplete)
      for (const d of dirs) if (!now.running[d]) out.push(`reported ${h.status}${h.incomplete ? " (incomplete)" : ""} but ${d} is not running`);
    return out;
  };
}
