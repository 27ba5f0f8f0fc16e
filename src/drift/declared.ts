// `postfleet drift --against PLAYBOOK.yml`: what a playbook's `instances` and
// `postconf` steps declare for one host, as expectations the comparison checks
// (only what is declared; later steps override earlier ones, as a run would).
import type { ConfigSettings, InstanceSelector, Playbook } from "../playbook/index.js";
import { MASTER_FIELDS } from "../protocol/index.js";
import type { DeclaredState, Expected } from "./compare.js";
import type { ComparableHost, ComparableInstance, ComparableService } from "./normalize.js";

const isField = (k: string) => (MASTER_FIELDS as readonly string[]).includes(k);

function emptyInstance(name: string): ComparableInstance {
  return { name, group: "", enabled: false, order: "", main: {}, master: {} };
}

/** Apply one step's settings to an expectation (later values win). */
function mergeSettings(e: Expected, s: ConfigSettings): void {
  const c = e.config!;
  for (const [p, v] of Object.entries(s.main)) {
    c.main[p] = v;
    e.mainAbsent = (e.mainAbsent ?? []).filter((x) => x !== p);
  }
  for (const p of s.mainAbsent) {
    delete c.main[p];
    if (!(e.mainAbsent ?? []).includes(p)) (e.mainAbsent ??= []).push(p);
  }
  for (const [key, entry] of Object.entries(s.master)) {
    if (entry === null) {
      delete c.master[key];
      if (!(e.masterAbsent ?? []).includes(key)) (e.masterAbsent ??= []).push(key);
      continue;
    }
    e.masterAbsent = (e.masterAbsent ?? []).filter((x) => x !== key);
    const svc: ComparableService = c.master[key] ?? { line: "", fields: {}, params: {} };
    for (const [k, v] of Object.entries(entry)) {
      if (isField(k)) {
        if (v !== null && k !== "service" && k !== "type") svc.fields[k] = v;
      } else if (v === null) delete svc.params[k];
      else svc.params[k] = v;
    }
    svc.line = `${key.replace(/\/(?=[^/]*$)/, " ")} ${Object.entries(svc.fields)
      .map(([k, v]) => `${k}=${v}`)
      .join(" ")}`.trim();
    c.master[key] = svc;
  }
}

function selected(sel: InstanceSelector, host: ComparableHost, state: DeclaredState): string[] {
  const known = new Set([...host.names, ...[...state.entries()].filter(([, e]) => e.config).map(([n]) => n)]);
  const enabledOf = (n: string) => state.get(n)?.config?.enabled ?? host.instances.get(n)?.enabled ?? false;
  const groupOf = (n: string) => state.get(n)?.config?.group || host.instances.get(n)?.group || "";
  switch (sel.kind) {
    case "all":
      return [...known];
    case "enabled":
      return [...known].filter(enabledOf);
    case "group":
      return [...known].filter((n) => groupOf(n) === sel.group);
    case "names":
      return sel.names;
  }
}

/** What the playbook's steps for `host` declare, instance name → expectation. */
export function declaredState(playbook: Playbook, host: ComparableHost): DeclaredState {
  const state: DeclaredState = new Map();
  for (const play of playbook.plays) {
    for (const step of play.steps[host.host] ?? []) {
      if (step.when && !step.when.result) continue;
      if (step.type === "instances") {
        for (const d of step.instances) {
          if (d.state === "absent") {
            state.set(d.name, { config: null, partial: true });
            continue;
          }
          const prev = state.get(d.name);
          const e: Expected = prev?.config ? prev : { config: emptyInstance(d.name), partial: true, checkEnabled: true };
          e.config!.enabled = d.state === "enabled";
          e.checkEnabled = true;
          if (d.group !== undefined) e.config!.group = d.group;
          mergeSettings(e, d.config);
          state.set(d.name, e);
        }
      } else if (step.type === "postconf") {
        for (const n of selected(step.select, host, state)) {
          const prev = state.get(n);
          if (prev && !prev.config) continue; // declared absent: a later postconf on it would fail, not configure it
          const e: Expected = prev ?? { config: emptyInstance(n), partial: true, checkEnabled: false };
          mergeSettings(e, step.config);
          state.set(n, e);
        }
      }
    }
  }
  return state;
}
