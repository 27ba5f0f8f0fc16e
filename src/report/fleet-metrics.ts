// `postfleet report --format prometheus | nagios`: the fleet for monitoring.
// Prometheus text exposition format (0.0.4), one series per host and
// instance, for node_exporter's textfile collector; a Nagios plugin line with
// perfdata.
import { QUEUE_NAMES } from "../protocol/index.js";
import { problemPhrases, type FleetReport } from "./fleet-health.js";

/** Label values: backslash, double quote and line feed escaped, as the format says. */
function labelValue(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function labels(l: Record<string, string>): string {
  return `{${Object.entries(l)
    .map(([k, v]) => `${k}="${labelValue(v)}"`)
    .join(",")}}`;
}

interface Family {
  name: string;
  help: string;
  samples: Array<[Record<string, string>, number]>;
}

export function renderPrometheus(r: FleetReport, generatedAt: Date): string {
  const fam = (name: string, help: string): Family => ({ name, help, samples: [] });
  const reachable = fam("postfleet_host_reachable", "1 when postfleet reached the host and read its Postfix instances, else 0.");
  const info = fam("postfleet_postfix_info", "The Postfix version a host runs (value 1).");
  const up = fam("postfleet_instance_up", "1 when a master process of the Postfix instance is running, else 0.");
  const enabled = fam("postfleet_instance_enabled", "1 when the instance is enabled (multi_instance_enable), else 0.");
  const problem = fam("postfleet_instance_problem", "1 when the report finds a problem with the instance (not running, running while disabled, a queue over its threshold or unreadable, missing), else 0.");
  const queue = fam("postfleet_queue_messages", "Messages in each queue of the instance.");
  const oldest = fam("postfleet_queue_oldest_seconds", "Age of the oldest message in the deferred queue (0 when none is deferred).");
  const problems = fam("postfleet_problems", "Problems the report found, by kind.");
  const stamp = fam("postfleet_report_timestamp_seconds", "When postfleet report read the fleet (Unix time).");

  const reported = new Set<string>();
  for (const row of r.inOrder) {
    if (row.kind === "host") {
      reachable.samples.push([{ host: row.host }, 0]);
      continue;
    }
    if (!reported.has(row.host)) {
      reported.add(row.host);
      reachable.samples.push([{ host: row.host }, 1]);
      if (row.postfixVersion) info.samples.push([{ host: row.host, version: row.postfixVersion }, 1]);
    }
    const l = { host: row.host, instance: row.instance, group: row.group };
    if (row.kind === "missing") {
      problem.samples.push([l, 1]);
      continue;
    }
    up.samples.push([l, row.running ? 1 : 0]);
    enabled.samples.push([l, row.enabled ? 1 : 0]);
    problem.samples.push([l, row.problems.length ? 1 : 0]);
    if (row.queues) {
      for (const q of QUEUE_NAMES) queue.samples.push([{ ...l, queue: q }, row.queues[q]]);
      const age = row.queues.deferred === 0 ? 0 : row.oldestDeferredS;
      if (age !== null) oldest.samples.push([{ ...l, queue: "deferred" }, age]);
    }
  }
  const s = r.summary;
  for (const [kind, n] of [
    ["host_unreachable", s.hostsUnreachable],
    ["enabled_not_running", s.enabledNotRunning],
    ["disabled_running", s.disabledRunning],
    ["queue_over_threshold", s.queuesOverThreshold],
    ["queue_unreadable", s.queuesUnreadable],
    ["instance_missing", s.missingInstances],
  ] as const) {
    problems.samples.push([{ kind }, n]);
  }
  stamp.samples.push([{}, Math.floor(generatedAt.getTime() / 1000)]);

  const out: string[] = [];
  for (const f of [reachable, info, up, enabled, problem, queue, oldest, problems, stamp]) {
    if (!f.samples.length) continue;
    out.push(`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} gauge`);
    for (const [l, v] of f.samples) out.push(`${f.name}${Object.keys(l).length ? labels(l) : ""} ${v}`);
  }
  return `${out.join("\n")}\n`;
}

/** Nagios plugin states and their exit codes. */
export const NAGIOS = { OK: 0, WARNING: 1, CRITICAL: 2, UNKNOWN: 3 } as const;

/**
 * One line: state, what is wrong, perfdata. CRITICAL when a host is
 * unreachable or an enabled instance is down; WARNING for running disabled
 * instances, queues over thresholds or unreadable and missing instances; UNKNOWN when the
 * run was interrupted.
 */
export function renderNagios(r: FleetReport, aborted: boolean): { line: string; exitCode: number } {
  const s = r.summary;
  const state: keyof typeof NAGIOS = aborted
    ? "UNKNOWN"
    : s.hostsUnreachable || s.enabledNotRunning
      ? "CRITICAL"
      : s.disabledRunning || s.queuesOverThreshold || s.queuesUnreadable || s.missingInstances
        ? "WARNING"
        : "OK";
  let deferred = 0;
  let active = 0;
  for (const row of r.rows) {
    deferred += row.queues?.deferred ?? 0;
    active += row.queues?.active ?? 0;
  }
  const phrases = problemPhrases(s);
  const text = aborted ? "run interrupted" : phrases.length ? phrases.join(", ") : `${s.hosts} hosts, ${s.instances} instances`;
  const perf = [
    `hosts=${s.hosts}`,
    `unreachable=${s.hostsUnreachable};;0`,
    `instances=${s.instances}`,
    `not_running=${s.enabledNotRunning};;0`,
    `disabled_running=${s.disabledRunning};0`,
    `queues_over=${s.queuesOverThreshold};0`,
    `queues_unreadable=${s.queuesUnreadable};0`,
    `missing=${s.missingInstances};0`,
    `deferred=${deferred}`,
    `active=${active}`,
  ];
  return { line: `POSTFLEET ${state} - ${text} | ${perf.join(" ")}\n`, exitCode: NAGIOS[state] };
}
