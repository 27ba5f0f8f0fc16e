// `postfleet report`: what is wrong in the fleet, before everything else.
// From the hosts' facts: enabled instances not running, disabled ones
// running, hosts not reached, queues over their thresholds or unreadable, instances that
// the majority of an inventory group's hosts have and a host lacks, the
// Postfix versions in use. Pure: the command and the renderers read it.
import type { HostOutcome, HostStatus } from "../orchestrator/run-document.js";
import type { QueueName } from "../protocol/index.js";

export interface InstanceRow {
  host: string;
  instance: string;
  group: string;
  enabled: boolean;
  running: boolean;
  configDirectory: string;
  queueDirectory: string;
  dataDirectory: string;
  postfixVersion: string;
  queues: Record<QueueName, number> | null;
  /** Why the queues could not be counted (the agent is not root): then `queues` is null, not zeros. */
  queueError: string | null;
  /** Age in seconds of the oldest deferred message (postqueue -j); null when none is deferred or it is unknown. */
  oldestDeferredS: number | null;
}

/** One row per instance of a host whose outcome carries facts (none for a failed host). */
export function instanceRows(outcome: HostOutcome): InstanceRow[] {
  const facts = outcome.data?.kind === "facts" ? outcome.data : null;
  if (!facts) return [];
  return facts.instances.map((i) => ({
    host: outcome.host,
    instance: i.name,
    group: i.group,
    enabled: i.enabled,
    running: i.running,
    configDirectory: i.configDirectory,
    queueDirectory: i.queueDirectory,
    dataDirectory: i.dataDirectory,
    postfixVersion: facts.postfixVersion,
    queues: i.queues ?? null,
    queueError: i.queueError ?? null,
    oldestDeferredS: facts.oldestDeferredS?.[i.name] ?? null,
  }));
}

/** Queue thresholds; `null` turns one off. A queue is over when its value is greater. */
export interface QueueThresholds {
  maxDeferred: number | null;
  maxActive: number | null;
  /** Seconds. */
  maxOldestDeferredS: number | null;
}

/**
 * Defaults: a few hundred deferred messages is a destination or relay in
 * trouble; a thousand in active means the queue manager cannot keep up; a
 * message deferred for two days is close to Postfix's maximal_queue_lifetime
 * (5d) and will bounce if nothing changes.
 */
export const DEFAULT_THRESHOLDS: QueueThresholds = { maxDeferred: 500, maxActive: 1000, maxOldestDeferredS: 2 * 86_400 };

export type RowKind = "instance" | "missing" | "host";

/** One row of the report: an instance, an instance a host lacks, or a host that gave no facts. */
export interface ReportRow extends InstanceRow {
  kind: RowKind;
  /** What is wrong with this row (empty: nothing). */
  problems: string[];
  /** For kind "host": the host's status. */
  hostStatus?: HostStatus;
}

export interface ProblemSummary {
  hosts: number;
  /** Hosts that answered with their instances. */
  hostsReporting: number;
  instances: number;
  enabledNotRunning: number;
  disabledRunning: number;
  /** Hosts unreachable, failed or not reached (an interrupted run). */
  hostsUnreachable: number;
  queuesOverThreshold: number;
  /** Instances whose queue directories the agent could not read (not root). */
  queuesUnreadable: number;
  missingInstances: number;
  /** Postfix versions with how many hosts run each, most hosts first. */
  postfixVersions: Array<{ version: string; hosts: number }>;
  thresholds: QueueThresholds;
  /** Rows with a problem. */
  problems: number;
}

export interface FleetReport {
  summary: ProblemSummary;
  /** Rows with a problem first, then the rest; each part in host and instance order. */
  rows: ReportRow[];
  /** The same rows in host and instance order. */
  inOrder: ReportRow[];
}

/**
 * The JSON form (--json, --format json): `problems` is the summary with the
 * rows that have a problem (instances, missing instances, hosts without
 * facts); `instances` every instance in host order, each with its problems.
 */
export function reportJson(r: FleetReport): { problems: ProblemSummary & { rows: ReportRow[] }; instances: ReportRow[] } {
  return { problems: { ...r.summary, rows: r.rows.filter((x) => x.problems.length > 0) }, instances: r.inOrder.filter((x) => x.kind === "instance") };
}

export function formatAge(s: number): string {
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const parts = [d ? `${d}d` : "", h ? `${h}h` : "", m ? `${m}m` : "", !d && !h && (s % 60 || !m) ? `${s % 60}s` : ""];
  return parts.join("");
}

/** "off", a number of seconds, or units in decreasing order ("2d", "6h30m", "90m", "45s"). */
export function parseAge(v: string): number | null | undefined {
  const t = v.trim();
  if (t === "off") return null;
  if (/^\d+$/.test(t)) return Number(t);
  const m = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(t);
  if (!m || !/\d/.test(t)) return undefined;
  return Number(m[1] ?? 0) * 86_400 + Number(m[2] ?? 0) * 3600 + Number(m[3] ?? 0) * 60 + Number(m[4] ?? 0);
}

/** "off" or a whole number. */
export function parseCount(v: string): number | null | undefined {
  const t = v.trim();
  if (t === "off") return null;
  return /^\d+$/.test(t) ? Number(t) : undefined;
}

function queueProblems(r: InstanceRow, t: QueueThresholds): string[] {
  const out: string[] = [];
  if (r.queues) {
    if (t.maxDeferred !== null && r.queues.deferred > t.maxDeferred) out.push(`deferred ${r.queues.deferred} > ${t.maxDeferred}`);
    if (t.maxActive !== null && r.queues.active > t.maxActive) out.push(`active ${r.queues.active} > ${t.maxActive}`);
  }
  if (t.maxOldestDeferredS !== null && r.oldestDeferredS != null && r.oldestDeferredS > t.maxOldestDeferredS) {
    out.push(`oldest deferred ${formatAge(r.oldestDeferredS)} > ${formatAge(t.maxOldestDeferredS)}`);
  }
  return out;
}

const emptyRow = (host: string, instance: string, group = ""): InstanceRow => ({
  host,
  instance,
  group,
  enabled: false,
  running: false,
  configDirectory: "",
  queueDirectory: "",
  dataDirectory: "",
  postfixVersion: "",
  queues: null,
  queueError: null,
  oldestDeferredS: null,
});

/**
 * Instances the strict majority of an inventory group's reporting hosts have
 * and a host of that group lacks. A host in no group but `all` is compared
 * with the other such hosts. One entry per host and instance name.
 */
export function missingInstances(
  hosts: ReadonlyArray<{ host: string; instances: readonly string[]; group?: (n: string) => string | undefined }>,
  groupsOf: (host: string) => readonly string[],
): Array<{ host: string; instance: string; group: string; have: number; of: number }> {
  const byGroup = new Map<string, Array<(typeof hosts)[number]>>();
  for (const h of hosts) {
    const gs = groupsOf(h.host).filter((g) => g !== "all" && g !== "ungrouped");
    for (const g of gs.length ? gs : ["all"]) byGroup.set(g, [...(byGroup.get(g) ?? []), h]);
  }
  const seen = new Set<string>();
  const out: Array<{ host: string; instance: string; group: string; have: number; of: number }> = [];
  for (const [g, members] of byGroup) {
    const count = new Map<string, number>();
    for (const m of members) for (const i of new Set(m.instances)) count.set(i, (count.get(i) ?? 0) + 1);
    for (const [name, have] of count) {
      if (have * 2 <= members.length) continue;
      for (const m of members) {
        const key = `${m.host}\0${name}`;
        if (m.instances.includes(name) || seen.has(key)) continue;
        seen.add(key);
        out.push({ host: m.host, instance: name, group: g, have, of: members.length });
      }
    }
  }
  return out;
}

export function assessFleet(outcomes: readonly HostOutcome[], o: { thresholds: QueueThresholds; groupsOf: (host: string) => readonly string[] }): FleetReport {
  const rows: ReportRow[] = [];
  const versions = new Map<string, number>();
  const s: ProblemSummary = {
    hosts: outcomes.length,
    hostsReporting: 0,
    instances: 0,
    enabledNotRunning: 0,
    disabledRunning: 0,
    hostsUnreachable: 0,
    queuesOverThreshold: 0,
    queuesUnreadable: 0,
    missingInstances: 0,
    postfixVersions: [],
    thresholds: o.thresholds,
    problems: 0,
  };
  const reporting: Array<{ host: string; instances: string[] }> = [];
  for (const h of outcomes) {
    if (h.data?.kind !== "facts") {
      s.hostsUnreachable++;
      rows.push({ ...emptyRow(h.host, ""), kind: "host", hostStatus: h.status, problems: [`${h.status}${h.error ? `: ${h.error}` : ""}`] });
      continue;
    }
    s.hostsReporting++;
    versions.set(h.data.postfixVersion, (versions.get(h.data.postfixVersion) ?? 0) + 1);
    const own = instanceRows(h);
    reporting.push({ host: h.host, instances: own.map((r) => r.instance) });
    for (const r of own) {
      s.instances++;
      const problems: string[] = [];
      if (r.enabled && !r.running) {
        s.enabledNotRunning++;
        problems.push("enabled, not running");
      }
      if (!r.enabled && r.running) {
        s.disabledRunning++;
        problems.push("disabled, running");
      }
      const q = queueProblems(r, o.thresholds);
      if (q.length) s.queuesOverThreshold++;
      problems.push(...q);
      if (r.queueError) {
        s.queuesUnreadable++;
        problems.push(`queues not counted: ${r.queueError}`);
      }
      rows.push({ ...r, kind: "instance", problems });
    }
  }
  for (const m of missingInstances(reporting, o.groupsOf)) {
    s.missingInstances++;
    let at = rows.length - 1;
    while (at >= 0 && rows[at]!.host !== m.host) at--;
    const groupName = m.group === "all" ? "the fleet" : `group ${m.group}`;
    rows.splice(at + 1, 0, { ...emptyRow(m.host, m.instance), kind: "missing", problems: [`missing (on ${m.have} of ${m.of} hosts of ${groupName})`] });
  }
  s.postfixVersions = [...versions].map(([version, hosts]) => ({ version, hosts })).sort((a, b) => b.hosts - a.hosts || a.version.localeCompare(b.version));
  const bad = rows.filter((r) => r.problems.length > 0);
  s.problems = bad.length;
  return { summary: s, rows: [...bad, ...rows.filter((r) => r.problems.length === 0)], inOrder: rows };
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** The problem counts that are not zero, as phrases ("1 enabled instance not running"). */
export function problemPhrases(s: ProblemSummary): string[] {
  return [
    s.hostsUnreachable ? `${plural(s.hostsUnreachable, "host")} unreachable or failed` : "",
    s.enabledNotRunning ? `${plural(s.enabledNotRunning, "enabled instance")} not running` : "",
    s.disabledRunning ? `${plural(s.disabledRunning, "disabled instance")} running` : "",
    s.queuesOverThreshold ? `${plural(s.queuesOverThreshold, "instance")} with queues over thresholds` : "",
    s.queuesUnreadable ? `${plural(s.queuesUnreadable, "instance")} whose queues could not be read` : "",
    s.missingInstances ? `${plural(s.missingInstances, "instance")} missing (vs the majority of the group)` : "",
  ].filter(Boolean);
}

export function thresholdsText(t: QueueThresholds): string {
  const v = (n: number | null, f: (n: number) => string = String) => (n === null ? "off" : f(n));
  return `deferred > ${v(t.maxDeferred)}, active > ${v(t.maxActive)}, oldest deferred > ${v(t.maxOldestDeferredS, formatAge)}`;
}

/** The summary in lines of text: counts, versions, thresholds, then the problems or "no problems". */
export function summaryLines(s: ProblemSummary): string[] {
  const versions = s.postfixVersions.map((v) => `${v.version} on ${plural(v.hosts, "host")}`).join(", ");
  const phrases = problemPhrases(s);
  return [
    `postfleet report: ${plural(s.hosts, "host")} (${s.hostsReporting} reporting), ${plural(s.instances, "instance")}`,
    `postfix: ${versions || "-"}`,
    `queue thresholds: ${thresholdsText(s.thresholds)}`,
    phrases.length ? `PROBLEMS: ${phrases.join("; ")}` : "no problems",
  ];
}
