// "Each host's reported state matches what is on it", for playbook runs: the
// steps a host's outcome lists (settings, restart, wait) against its files,
// running instances and master pids after the run.
import type { TestLabHost } from "../../support/lab.js";
import type { HostState } from "./fault-case.js";
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

    const settingsStep = step("postconf");
    if (settingsStep?.status === "ok" || settingsStep?.status === "changed") {
      for (const d of dirs) if (!edited(d)) out.push(`settings step ${settingsStep.status} but ${d}/main.cf lacks them`);
    } else if (!settingsStep || settingsStep.status === "skipped") {
      for (const d of dirs) if (!unchanged(d)) out.push(`settings step ${settingsStep ? "skipped" : "not reported"} but ${d}/main.cf changed`);
    }
    const restart = step("restart");
    if (restart?.status === "ok" || restart?.status === "changed") {
      for (const d of dirs) {
        const q = queueOf(d);
        if (!now.running[d]) out.push(`restart ${restart.status} but ${d} is not running`);
        else if (before.masters[q] !== undefined && now.masters[q] === before.masters[q]) out.push(`restart ${restart.status} but ${d}'s master was not restarted`);
      }
    } else if (!restart) {
      for (const d of dirs) {
        const q = queueOf(d);
        if (now.masters[q] !== before.masters[q]) out.push(`restart not reported but ${d}'s master changed (${before.masters[q]} → ${now.masters[q]})`);
      }
    }
    // Whatever happened, an instance the report does not say is down must run (an interrupted restart starts again what it stopped).
    if (h.status === "ok" || h.status === "changed" || h.incomplete)
      for (const d of dirs) if (!now.running[d]) out.push(`reported ${h.status}${h.incomplete ? " (incomplete)" : ""} but ${d} is not running`);
    return out;
  };
}
