// `postfleet drift`, step 1: one host's configuration made comparable with its
// peers'. Values that name the host itself (inventory name, ansible_host, its
// short name, its own hostname and addresses) become placeholders; `--ignore`
// globs drop settings; metadata that the comparison reports on its own
// (group, enable, instance list) leaves main.cf.
import type { DriftData, HostNames } from "../orchestrator/drift-data.js";
import type { InstanceConfig, MasterService } from "../protocol/index.js";
import { commandWords } from "../protocol/master-cf-words.js";

/** A master.cf service as compared: fields without the -o options, and the options as a map. */
export interface ComparableService {
  line: string;
  fields: Record<string, string>;
  params: Record<string, string>;
}

/** One instance as compared across hosts. */
export interface ComparableInstance {
  name: string;
  group: string;
  enabled: boolean;
  /** Where the instance sits: "first" or "after NAME" (nearest instance before it that every host has). */
  order: string;
  main: Record<string, string>;
  master: Record<string, ComparableService>;
}

export interface ComparableHost {
  host: string;
  postfixVersion: string;
  /** Instance name → configuration, in the host's order. */
  instances: Map<string, ComparableInstance>;
  /** Instance names in the host's order (primary first). */
  names: string[];
  /** The host's own names and addresses with their placeholders (longest first). */
  tokens: Array<{ token: string; placeholder: string }>;
  /** Instances the agent could not read (not compared): name → why. */
  unreadable: Map<string, string>;
}

/** A setting whose value was rewritten before comparing. */
export interface NormalizedSetting {
  instance: string;
  /** "main.cf myhostname", "master.cf 10.0.0.5:smtp/inet" ... */
  setting: string;
  placeholders: string[];
  hosts: string[];
}

/** Collects what normalization rewrote, across hosts. */
export class NormalizationLog {
  private readonly seen = new Map<string, NormalizedSetting>();

  add(instance: string, setting: string, placeholders: Iterable<string>, host: string): void {
    const key = `${instance}\u0000${setting}`;
    let s = this.seen.get(key);
    if (!s) this.seen.set(key, (s = { instance, setting, placeholders: [], hosts: [] }));
    for (const p of placeholders) if (!s.placeholders.includes(p)) s.placeholders.push(p);
    if (!s.hosts.includes(host)) s.hosts.push(host);
  }

  list(): NormalizedSetting[] {
    return [...this.seen.values()].sort((a, b) => a.instance.localeCompare(b.instance) || a.setting.localeCompare(b.setting));
  }
}

/** main.cf parameters the comparison reports structurally (group, enabled, instance set), not as settings. */
export const STRUCTURAL_PARAMS = new Set(["multi_instance_name", "multi_instance_group", "multi_instance_enable", "multi_instance_directories"]);

/** Names that do not identify a host (every host has them): never replaced. */
const SHARED_NAMES = new Set(["localhost", "localhost.localdomain", "127.0.0.1", "::1", "0.0.0.0", "::", "all", "loopback-only"]);

export const PLACEHOLDERS = {
  inventory: "{inventory_hostname}",
  ansibleHost: "{ansible_host}",
  short: "{short_name}",
  hostname: "{hostname}",
  shortHostname: "{short_hostname}",
  address: "{address}",
} as const;

const isIp = (s: string) => /^[0-9.]+$/.test(s) || s.includes(":");

/** The host's own names and addresses with their placeholders, longest first. */
export function hostTokens(n: HostNames): Array<{ token: string; placeholder: string }> {
  const out: Array<{ token: string; placeholder: string }> = [];
  const add = (token: string | undefined, placeholder: string) => {
    if (!token || token.length < 2 || SHARED_NAMES.has(token.toLowerCase())) return;
    if (out.some((t) => t.token.toLowerCase() === token.toLowerCase())) return;
    out.push({ token, placeholder });
  };
  const short = (name: string) => (isIp(name) ? undefined : name.split(".")[0]);
  add(n.inventory, PLACEHOLDERS.inventory);
  add(n.ansibleHost, PLACEHOLDERS.ansibleHost);
  add(n.hostname, PLACEHOLDERS.hostname);
  add(short(n.inventory), PLACEHOLDERS.short);
  add(short(n.hostname), PLACEHOLDERS.shortHostname);
  for (const a of n.addresses) add(a, PLACEHOLDERS.address);
  return out.sort((a, b) => b.token.length - a.token.length);
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** Replaces the host's tokens where they stand as whole names (not inside a longer name or number). */
export function makeReplacer(tokens: Array<{ token: string; placeholder: string }>): (value: string) => { value: string; used: string[] } {
  if (tokens.length === 0) return (value) => ({ value, used: [] });
  const re = new RegExp(`(?<![A-Za-z0-9_-])(?:${tokens.map((t) => escapeRe(t.token)).join("|")})(?![A-Za-z0-9_-])`, "gi");
  const byToken = new Map(tokens.map((t) => [t.token.toLowerCase(), t.placeholder]));
  return (value) => {
    const used = new Set<string>();
    const out = value.replace(re, (m) => {
      const p = byToken.get(m.toLowerCase())!;
      used.add(p);
      return p;
    });
    return { value: out, used: [...used] };
  };
}

/** `*`, `?` and `[...]` as in a shell glob, over the whole name. */
export function globMatcher(globs: readonly string[]): (name: string) => boolean {
  if (globs.length === 0) return () => false;
  const res = globs.map((g) => {
    let re = "";
    for (let i = 0; i < g.length; i++) {
      const c = g[i]!;
      if (c === "*") re += ".*";
      else if (c === "?") re += ".";
      else if (c === "[") {
        const end = g.indexOf("]", i + 1);
        if (end < 0) re += "\\[";
        else {
          re += `[${g.slice(i + 1, end).replace(/^!/, "^").replace(/\\/g, "\\\\")}]`;
          i = end;
        }
      } else re += escapeRe(c);
    }
    return new RegExp(`^${re}$`);
  });
  return (name) => res.some((r) => r.test(name));
}

/** The command without its `-o name=value` options (those are compared one by one, from postconf -P). */
export function commandWithoutOptions(command: string): string {
  const words = commandWords(command);
  const out: string[] = [];
  for (let i = 0; i < words.length; i++) {
    if (words[i] === "-o" && i + 1 < words.length) i++;
    else out.push(words[i]!);
  }
  return out.join(" ");
}

/** Instance key: its name; an unnamed secondary by its config directory. */
export const instanceKey = (i: Pick<InstanceConfig, "name" | "primary" | "configDirectory">) => (i.primary ? "-" : i.name !== "-" ? i.name : i.configDirectory);

export interface NormalizeOptions {
  /** --ignore globs. */
  ignore: (name: string) => boolean;
  log: NormalizationLog;
}

/** "10.0.0.5:smtp/inet" → "{address}:smtp/inet": only a service's address part may name the host. */
export function normalizeServiceKey(key: string, replace: ReturnType<typeof makeReplacer>): { value: string; used: string[] } {
  const slash = key.lastIndexOf("/");
  const service = slash > 0 ? key.slice(0, slash) : key;
  const colon = service.lastIndexOf(":");
  if (colon <= 0) return { value: key, used: [] };
  const r = replace(service.slice(0, colon));
  return { value: `${r.value}${key.slice(colon)}`, used: r.used };
}

/**
 * A service's own address ("10.0.0.5:smtp/inet") and its -o values may name
 * the host; its other fields are compared as they are (a host called "smtp"
 * must not turn every smtp service into a placeholder).
 */
function comparableService(s: MasterService, instance: string, host: string, replace: ReturnType<typeof makeReplacer>, o: NormalizeOptions): [string, ComparableService] | null {
  if (o.ignore(s.key)) return null;
  const k = normalizeServiceKey(s.key, replace);
  const key = k.value;
  const service = key.slice(0, key.lastIndexOf("/"));
  const used = new Set(k.used);
  const fields: Record<string, string> = {};
  for (const [f, v] of Object.entries(s.fields)) if (f !== "service" && f !== "type") fields[f] = f === "command" ? commandWithoutOptions(v) : v;
  const params: Record<string, string> = {};
  for (const [p, v] of Object.entries(s.params)) {
    if (o.ignore(p) || o.ignore(`${s.key}/${p}`)) continue;
    const r = replace(v);
    r.used.forEach((x) => used.add(x));
    params[p] = r.value;
  }
  // The -M line is compared too: its address and its -o values as above.
  const words = s.line.split(" ").map((w, i, all) => (i > 0 && all[i - 1] === "-o" ? replace(w).value : w));
  if (k.used.length && words[0] === s.fields.service) words[0] = service;
  const line = words.join(" ");
  if (used.size) o.log.add(instance, `master.cf ${key}`, used, host);
  return [key, { line, fields, params }];
}

/** One host's instances, normalized; instances that could not be read are left out. */
export function normalizeHost(host: string, data: DriftData, o: NormalizeOptions): ComparableHost {
  const tokens = hostTokens(data.names);
  const replace = makeReplacer(tokens);
  const instances = new Map<string, ComparableInstance>();
  const unreadable = new Map(data.instances.filter((i) => i.error).map((i) => [instanceKey(i), i.error!]));
  const sorted = [...data.instances].filter((i) => !i.error).sort((a, b) => a.order - b.order);
  for (const i of sorted) {
    const name = instanceKey(i);
    const main: Record<string, string> = {};
    for (const [p, v] of Object.entries(i.main)) {
      if (STRUCTURAL_PARAMS.has(p) || o.ignore(p)) continue;
      const r = replace(v);
      if (r.used.length) o.log.add(name, `main.cf ${p}`, r.used, host);
      main[p] = r.value;
    }
    const master: Record<string, ComparableService> = {};
    for (const s of i.master) {
      const c = comparableService(s, name, host, replace, o);
      if (c) master[c[0]] = c[1];
    }
    instances.set(name, { name, group: i.group, enabled: i.enabled, order: "", main, master });
  }
  return { host, postfixVersion: data.postfixVersion, instances, names: [...instances.keys()], tokens, unreadable };
}

/**
 * Give each instance its place relative to the instances every compared host
 * has, so that an instance missing on one host does not move the others.
 */
export function assignOrder(hosts: readonly ComparableHost[], alsoCommon?: readonly string[]): void {
  let common: Set<string> | null = alsoCommon ? new Set(alsoCommon) : null;
  for (const h of hosts) common = new Set([...(common ?? h.names)].filter((n) => h.instances.has(n) || h.unreadable.has(n)));
  for (const h of hosts) {
    let last = "first";
    for (const n of h.names) {
      h.instances.get(n)!.order = last;
      if (common?.has(n)) last = `after ${n}`;
    }
  }
}
