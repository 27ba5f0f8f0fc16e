// `postfleet drift`, step 2: per instance name, hosts with identical
// (normalized) configuration form a group; the reference is the largest group
// (or a snapshot, or what a playbook declares), every other group a list of
// differences against it. Pure logic: the renderers print the result.
import type { HostOutcome } from "../orchestrator/run-document.js";
import type { ComparableHost, ComparableInstance, ComparableService, NormalizedSetting } from "./normalize.js";
import { assignOrder, globMatcher, makeReplacer, NormalizationLog, normalizeHost, normalizeServiceKey } from "./normalize.js";
import { canonicalJson } from "../protocol/canonical-json.js";
import { groupBy } from "../shared/group-by.js";

/** One way an instance differs from the reference. */
export interface Difference {
  /** What differs: the instance itself, its group, enabled state or order, a main.cf parameter, a master.cf service. */
  what: "instance" | "group" | "enabled" | "order" | "main.cf" | "master.cf";
  change: "missing" | "extra" | "added" | "removed" | "changed";
  /** main.cf: the parameter; master.cf: "service/type" or "service/type/field-or-param". */
  name?: string;
  /** The reference's value (absent when added). */
  reference?: string;
  /** This group's value (absent when removed). */
  actual?: string;
}

export interface HostGroup {
  hosts: string[];
  differences: Difference[];
}

export interface InstanceDrift {
  /** Instance name ("-": the primary). */
  name: string;
  /** The reference's hosts (majority) or [] (snapshot, playbook); its configuration, null when the instance should not exist. */
  reference: { hosts: string[]; config: ComparableInstance | null; partial: boolean };
  /** Groups of hosts that differ from the reference, largest first. */
  outliers: HostGroup[];
}

export interface VersionGroup {
  version: string;
  hosts: string[];
}

export interface DriftReport {
  /** "majority", "snapshot FILE" or "playbook FILE". */
  against: string;
  /** Hosts whose configuration was compared. */
  hosts: string[];
  /** Hosts that could not be read (failed, unreachable, skipped). */
  missingHosts: Array<{ host: string; status: string; error?: string }>;
  /** Instances the agent could not read on a host (left out of the comparison of that instance name). */
  unreadable: Array<{ host: string; instance: string; error: string }>;
  versions: VersionGroup[];
  /** Versions differ from the reference (snapshot: its version; else the most common one). */
  versionDrift: boolean;
  normalised: NormalizedSetting[];
  ignored: string[];
  instances: InstanceDrift[];
  /** Any instance has outliers, or versions differ. */
  drift: boolean;
}

/** A reference per instance name: a full configuration, absent (null), or a partial declaration. */
export interface Expected {
  config: ComparableInstance | null;
  /** Only what is given is compared (playbook declarations). */
  partial: boolean;
  /** Declared main.cf parameters that must not be set (playbook main_cf absent). */
  mainAbsent?: string[];
  /** Declared master.cf entries that must not exist. */
  masterAbsent?: string[];
  /** Partial: whether `enabled` is declared (default: yes unless partial). */
  checkEnabled?: boolean;
}

const sortedKeys = (...objs: Array<Record<string, unknown>>) => [...new Set(objs.flatMap((o) => Object.keys(o)))].sort();

function serviceDiffs(key: string, ref: ComparableService, act: ComparableService, partial: boolean): Difference[] {
  const out: Difference[] = [];
  for (const f of sortedKeys(ref.fields, partial ? {} : act.fields)) {
    const r = ref.fields[f];
    const a = act.fields[f];
    if (r !== a) out.push({ what: "master.cf", change: "changed", name: `${key}/${f}`, ...(r !== undefined ? { reference: r } : {}), ...(a !== undefined ? { actual: a } : {}) });
  }
  for (const p of sortedKeys(ref.params, partial ? {} : act.params)) {
    const r = ref.params[p];
    const a = act.params[p];
    if (r === a) continue;
    const change = r === undefined ? "added" : a === undefined ? "removed" : "changed";
    out.push({ what: "master.cf", change, name: `${key}/${p}`, ...(r !== undefined ? { reference: r } : {}), ...(a !== undefined ? { actual: a } : {}) });
  }
  return out;
}

/** How `actual` differs from `expected` (empty: no drift). */
export function diffInstance(expected: Expected, actual: ComparableInstance | null, o: { order: boolean } = { order: true }): Difference[] {
  const ref = expected.config;
  if (!ref) return actual ? [{ what: "instance", change: "extra" }] : [];
  if (!actual) return [{ what: "instance", change: "missing" }];
  const out: Difference[] = [];
  if (ref.group !== actual.group && (!expected.partial || ref.group !== "")) out.push({ what: "group", change: "changed", reference: ref.group, actual: actual.group });
  if ((!expected.partial || expected.checkEnabled) && ref.enabled !== actual.enabled) out.push({ what: "enabled", change: "changed", reference: ref.enabled ? "yes" : "no", actual: actual.enabled ? "yes" : "no" });
  if (o.order && !expected.partial && ref.order !== actual.order) out.push({ what: "order", change: "changed", reference: ref.order, actual: actual.order });
  for (const p of sortedKeys(ref.main, expected.partial ? {} : actual.main)) {
    const r = ref.main[p];
    const a = actual.main[p];
    if (r === a) continue;
    const change = r === undefined ? "added" : a === undefined ? "removed" : "changed";
    out.push({ what: "main.cf", change, name: p, ...(r !== undefined ? { reference: r } : {}), ...(a !== undefined ? { actual: a } : {}) });
  }
  for (const p of expected.mainAbsent ?? []) {
    const a = actual.main[p];
    if (a !== undefined) out.push({ what: "main.cf", change: "added", name: p, actual: a });
  }
  for (const key of sortedKeys(ref.master, expected.partial ? {} : actual.master)) {
    const r = ref.master[key];
    const a = actual.master[key];
    if (r && a) out.push(...serviceDiffs(key, r, a, expected.partial));
    else if (r) out.push({ what: "master.cf", change: "removed", name: key, reference: r.line });
    else if (a) out.push({ what: "master.cf", change: "added", name: key, actual: a.line });
  }
  for (const key of expected.masterAbsent ?? []) {
    const a = actual.master[key];
    if (a) out.push({ what: "master.cf", change: "added", name: key, actual: a.line });
  }
  return out;
}

/** Instance names in the order hosts list them (primary first, then first seen). */
function instanceNames(hosts: readonly ComparableHost[], extra: readonly string[] = []): string[] {
  const names: string[] = [];
  for (const n of [...hosts.flatMap((h) => h.names), ...extra]) if (!names.includes(n)) names.push(n);
  return names.sort((a, b) => (a === "-" ? -1 : b === "-" ? 1 : 0));
}

/** Each host's differences against its expected configuration, hosts with equal differences together. */
function outliersOf(all: readonly ComparableHost[], name: string, expectedFor: (h: ComparableHost) => Expected, order: boolean): HostGroup[] {
  const hosts = all.filter((h) => !h.unreadable.has(name));
  const diffs = hosts.map((h) => ({ host: h.host, differences: diffInstance(expectedFor(h), h.instances.get(name) ?? null, { order }) }));
  return groupBy(
    diffs.filter((d) => d.differences.length > 0),
    (d) => canonicalJson(d.differences),
  )
    .map((g) => ({ hosts: g.map((d) => d.host), differences: g[0]!.differences }))
    .sort((a, b) => b.hosts.length - a.hosts.length);
}

function versionGroups(hosts: readonly ComparableHost[]): VersionGroup[] {
  return groupBy(hosts, (h) => h.postfixVersion)
    .map((g) => ({ version: g[0]!.postfixVersion, hosts: g.map((h) => h.host) }))
    .sort((a, b) => b.hosts.length - a.hosts.length);
}

/** Majority: per instance name, the largest group of identical configurations (ties: the first host's) is the reference. */
export function compareMajority(hosts: readonly ComparableHost[]): { instances: InstanceDrift[]; reference: Map<string, ComparableInstance | null> } {
  assignOrder(hosts);
  const instances: InstanceDrift[] = [];
  const reference = new Map<string, ComparableInstance | null>();
  for (const name of instanceNames(hosts)) {
    const groups = groupBy(hosts.filter((h) => !h.unreadable.has(name)), (h) => canonicalJson(h.instances.get(name) ?? null));
    const largest = groups.reduce((best, g) => (g.length > best.length ? g : best));
    const config = largest[0]!.instances.get(name) ?? null;
    reference.set(name, config);
    const expected: Expected = { config, partial: false };
    const outliers = outliersOf(hosts, name, () => expected, true);
    instances.push({ name, reference: { hosts: largest.map((h) => h.host), config, partial: false }, outliers });
  }
  return { instances, reference };
}

/** A saved fleet configuration: the reference per instance name, and what each host had. */
export interface DriftSnapshot {
  kind: "postfleet-drift-snapshot";
  version: 1;
  savedAt: string;
  postfixVersion: string;
  ignored: string[];
  /** Instance name → reference configuration (normalized); names not here should not exist. */
  instances: Record<string, ComparableInstance>;
  /** Instance names in reference order. */
  order: string[];
  hosts: Array<{ host: string; postfixVersion: string; instances: Record<string, ComparableInstance> }>;
}

export function makeSnapshot(hosts: readonly ComparableHost[], reference: Map<string, ComparableInstance | null>, ignored: string[], now: Date): DriftSnapshot {
  const instances: Record<string, ComparableInstance> = {};
  for (const [n, c] of reference) if (c) instances[n] = c;
  return {
    kind: "postfleet-drift-snapshot",
    version: 1,
    savedAt: now.toISOString(),
    postfixVersion: versionGroups(hosts)[0]?.version ?? "",
    ignored,
    instances,
    order: Object.keys(instances),
    hosts: hosts.map((h) => ({ host: h.host, postfixVersion: h.postfixVersion, instances: Object.fromEntries(h.instances) })),
  };
}

/** Throws with a reason when `v` is not a snapshot this version reads. */
export function parseSnapshot(v: unknown, file: string): DriftSnapshot {
  const s = v as Partial<DriftSnapshot> | null;
  if (!s || s.kind !== "postfleet-drift-snapshot" || s.version !== 1 || typeof s.instances !== "object" || !Array.isArray(s.order))
    throw new Error(`${file}: not a postfleet drift snapshot (written by postfleet drift --save)`);
  return s as DriftSnapshot;
}

/** Every host against the snapshot's reference. */
export function compareSnapshot(hosts: readonly ComparableHost[], snap: DriftSnapshot, ignore: (name: string) => boolean = () => false): InstanceDrift[] {
  assignOrder(hosts, snap.order);
  const common = new Set(snap.order.filter((n) => hosts.every((h) => h.instances.has(n))));
  // The snapshot's order, seen through the same common set as the hosts'.
  const refOrder = new Map<string, string>();
  let last = "first";
  for (const n of snap.order) {
    refOrder.set(n, last);
    if (common.has(n)) last = `after ${n}`;
  }
  return instanceNames(hosts, snap.order).map((name) => {
    const saved = snap.instances[name];
    const config = saved ? normalizeExpected({ config: { ...saved, order: refOrder.get(name)! }, partial: false }, NO_TOKENS, ignore).config : null;
    const expected: Expected = { config, partial: false };
    return { name, reference: { hosts: [], config, partial: false }, outliers: outliersOf(hosts, name, () => expected, true) };
  });
}

/** What a playbook declares for one host: instance name → expectation. */
export type DeclaredState = Map<string, Expected>;

const NO_TOKENS: ComparableHost = { host: "", postfixVersion: "", instances: new Map(), names: [], tokens: [], unreadable: new Map() };

/** A declaration seen as the host's configuration is: its own names replaced, ignored settings dropped. */
export function normalizeExpected(e: Expected, host: ComparableHost, ignore: (name: string) => boolean): Expected {
  if (!e.config) return e;
  const replace = makeReplacer(host.tokens);
  const r = (v: string) => replace(v).value;
  const main = Object.fromEntries(Object.entries(e.config.main).filter(([p]) => !ignore(p)).map(([p, v]) => [p, r(v)]));
  const master: Record<string, ComparableService> = {};
  for (const [key, svc] of Object.entries(e.config.master)) {
    if (ignore(key)) continue;
    master[normalizeServiceKey(key, replace).value] = {
      line: svc.line,
      fields: { ...svc.fields },
      params: Object.fromEntries(Object.entries(svc.params).filter(([p]) => !ignore(p) && !ignore(`${key}/${p}`)).map(([p, v]) => [p, r(v)])),
    };
  }
  return {
    ...e,
    config: { ...e.config, main, master },
    mainAbsent: e.mainAbsent?.filter((p) => !ignore(p)),
    masterAbsent: e.masterAbsent?.filter((k) => !ignore(k)).map((k) => normalizeServiceKey(k, replace).value),
  };
}

/** Every host against what the playbook declares for it (only what is declared is compared). */
export function compareDeclared(hosts: readonly ComparableHost[], declared: (host: ComparableHost) => DeclaredState): InstanceDrift[] {
  const perHost = new Map(hosts.map((h) => [h.host, declared(h)]));
  const names = instanceNames(
    hosts,
    [...perHost.values()].flatMap((d) => [...d.keys()]),
  ).filter((n) => [...perHost.values()].some((d) => d.has(n)));
  return names.map((name) => {
    const first = [...perHost.values()].find((d) => d.has(name))!.get(name)!;
    const expectedFor = (h: ComparableHost): Expected => perHost.get(h.host)!.get(name) ?? { config: h.instances.get(name) ?? null, partial: true };
    return { name, reference: { hosts: [], config: first.config, partial: true }, outliers: outliersOf(hosts, name, expectedFor, false) };
  });
}

export interface DriftInput {
  outcomes: readonly HostOutcome[];
  ignore: readonly string[];
  /** Default: the majority. */
  against?: { kind: "snapshot"; file: string; snapshot: DriftSnapshot } | { kind: "playbook"; file: string; declared: (host: ComparableHost) => DeclaredState };
}

/** Normalize every host that answered, compare, and say how. */
export function compareFleet(input: DriftInput): { report: DriftReport; hosts: ComparableHost[]; reference: Map<string, ComparableInstance | null> } {
  const ignored = [...input.ignore, ...(input.against?.kind === "snapshot" ? input.against.snapshot.ignored.filter((g) => !input.ignore.includes(g)) : [])];
  const log = new NormalizationLog();
  const opts = { ignore: globMatcher(ignored), log };
  const hosts: ComparableHost[] = [];
  const missingHosts: DriftReport["missingHosts"] = [];
  for (const o of input.outcomes) {
    if (o.data?.kind === "drift") hosts.push(normalizeHost(o.host, o.data, opts));
    else missingHosts.push({ host: o.host, status: o.status, ...(o.error ? { error: o.error } : {}) });
  }
  let instances: InstanceDrift[];
  let reference = new Map<string, ComparableInstance | null>();
  let against = "majority";
  const versions = versionGroups(hosts);
  let refVersion = versions[0]?.version;
  if (input.against?.kind === "snapshot") {
    instances = compareSnapshot(hosts, input.against.snapshot, opts.ignore);
    against = `snapshot ${input.against.file}`;
    refVersion = input.against.snapshot.postfixVersion;
  } else if (input.against?.kind === "playbook") {
    const { declared } = input.against;
    instances = compareDeclared(hosts, (h) => new Map([...declared(h)].map(([n, e]) => [n, normalizeExpected(e, h, opts.ignore)])));
    against = `playbook ${input.against.file}`;
    refVersion = undefined;
  } else {
    ({ instances, reference } = compareMajority(hosts));
  }
  const versionDrift = refVersion !== undefined && versions.some((v) => v.version !== refVersion);
  const report: DriftReport = {
    against,
    hosts: hosts.map((h) => h.host),
    missingHosts,
    unreadable: hosts.flatMap((h) => [...h.unreadable].map(([instance, error]) => ({ host: h.host, instance, error }))),
    versions,
    versionDrift,
    normalised: log.list(),
    ignored,
    instances,
    drift: versionDrift || instances.some((i) => i.outliers.length > 0),
  };
  return { report, hosts, reference };
}
