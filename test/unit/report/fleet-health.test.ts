import { describe, expect, it } from "vitest";
import type { HostOutcome } from "../../../src/orchestrator/run-document.js";
import { assessFleet, DEFAULT_THRESHOLDS, formatAge, missingInstances, parseAge, parseCount, summaryLines } from "../../../src/report/fleet-health.js";
import { renderNagios, renderPrometheus } from "../../../src/report/fleet-metrics.js";
import { prometheusFamilies } from "../../support/prometheus.js";

const inst = (name: string, o: { enabled?: boolean; running?: boolean; deferred?: number; active?: number; group?: string } = {}) => ({
  name,
  group: o.group ?? "mta",
  enabled: o.enabled ?? true,
  running: o.running ?? true,
  primary: name === "-",
  configDirectory: name === "-" ? "/etc/postfix" : `/etc/${name}`,
  queueDirectory: "/var/spool/x",
  dataDirectory: "/var/lib/x",
  queues: { maildrop: 0, incoming: 0, active: o.active ?? 0, deferred: o.deferred ?? 0, hold: 0, corrupt: 0 },
});
const facts = (host: string, instances: ReturnType<typeof inst>[], version = "3.7.11", oldest?: Record<string, number>): HostOutcome =>
  ({
    host,
    status: "ok",
    results: [],
    durationMs: 1,
    data: { kind: "facts", postfixVersion: version, instances, ...(oldest ? { oldestDeferredS: oldest } : {}) },
  }) as unknown as HostOutcome;
const down = (host: string): HostOutcome => ({ host, status: "unreachable", error: "connect ECONNREFUSED", results: [], durationMs: 0 });

describe("fleet health: problems first", () => {
  const fleet = [
    facts("mta01", [inst("-"), inst("postfix-out", { deferred: 3 }), inst("postfix-in")]),
    facts("mta02", [inst("-"), inst("postfix-out", { deferred: 700 }), inst("postfix-in", { running: false })], "3.7.11", { "postfix-out": 90_000 }),
    facts("mta03", [inst("-"), inst("postfix-out", { enabled: false })], "3.8.4"),
    facts("mta04", [inst("-"), inst("postfix-out", { active: 1001 }), inst("postfix-in")], "3.7.11", { "postfix-out": 3 * 86_400 + 60 }),
    down("mta05"),
  ];
  const r = assessFleet(fleet, { thresholds: DEFAULT_THRESHOLDS, groupsOf: (h) => (h === "mta05" ? [] : ["mta"]) });

  it("counts every kind of problem, the versions in use, and puts the problem rows first in host order", () => {
    expect(r.summary).toMatchObject({
      hosts: 5,
      hostsReporting: 4,
      instances: 11,
      enabledNotRunning: 1,
      disabledRunning: 1,
      hostsUnreachable: 1,
      queuesOverThreshold: 2,
      missingInstances: 1,
      postfixVersions: [
        { version: "3.7.11", hosts: 3 },
        { version: "3.8.4", hosts: 1 },
      ],
      problems: 6,
    });
    expect(r.rows.slice(0, 6).map((x) => [x.host, x.instance, x.kind, x.problems])).toEqual([
      ["mta02", "postfix-out", "instance", ["deferred 700 > 500"]],
      ["mta02", "postfix-in", "instance", ["enabled, not running"]],
      ["mta03", "postfix-out", "instance", ["disabled, running"]],
      ["mta03", "postfix-in", "missing", ["missing (on 3 of 4 hosts of group mta)"]],
      ["mta04", "postfix-out", "instance", ["active 1001 > 1000", "oldest deferred 3d1m > 2d"]],
      ["mta05", "", "host", ["unreachable: connect ECONNREFUSED"]],
    ]);
    expect(r.rows.slice(6).every((x) => x.problems.length === 0)).toBe(true);
    expect(r.rows).toHaveLength(6 + 7);
    expect(summaryLines(r.summary)).toEqual([
      "postfleet report: 5 hosts (4 reporting), 11 instances",
      "postfix: 3.7.11 on 3 hosts, 3.8.4 on 1 host",
      "queue thresholds: deferred > 500, active > 1000, oldest deferred > 2d",
      "PROBLEMS: 1 host unreachable or failed; 1 enabled instance not running; 1 disabled instance running; 2 instances with queues over thresholds; 1 instance missing (vs the majority of the group)",
    ]);
  });

  it("thresholds: 'off' turns one off, ages take units", () => {
    const off = assessFleet(fleet.slice(0, 4), { thresholds: { maxDeferred: null, maxActive: null, maxOldestDeferredS: 86_400 }, groupsOf: () => [] });
    expect(off.rows.filter((x) => x.problems.some((p) => p.includes(">"))).map((x) => [x.host, x.problems])).toEqual([
      ["mta02", ["oldest deferred 1d1h > 1d"]],
      ["mta04", ["oldest deferred 3d1m > 1d"]],
    ]);
    expect([parseAge("2d"), parseAge("6h30m"), parseAge("90"), parseAge("off"), parseAge("2x"), parseAge("")]).toEqual([172_800, 23_400, 90, null, undefined, undefined]);
    expect([parseCount("0"), parseCount("off"), parseCount("-1"), parseCount("1.5")]).toEqual([0, null, undefined, undefined]);
    expect([formatAge(0), formatAge(59), formatAge(3600), formatAge(90_061)]).toEqual(["0s", "59s", "1h", "1d1h1m"]);
  });

  it("missing instances: only against a strict majority of the same inventory group; hosts without a group form one", () => {
    const hosts = [
      { host: "a", instances: ["-", "in"] },
      { host: "b", instances: ["-", "in"] },
      { host: "c", instances: ["-"] },
      { host: "d", instances: ["-", "out"] },
      { host: "e", instances: ["-"] },
    ];
    const groups: Record<string, string[]> = { a: ["edge"], b: ["edge"], c: ["edge"], d: ["ungrouped"], e: [] };
    expect(missingInstances(hosts, (h) => groups[h]!)).toEqual([{ host: "c", instance: "in", group: "edge", have: 2, of: 3 }]);
  });
});

describe("metrics", () => {
  const fleet = [
    facts("mta01", [inst("-"), inst("postfix-out", { deferred: 2, group: 'odd"grp\\' })], "3.7.11", { "postfix-out": 120 }),
    facts("mta02", [inst("-"), inst("postfix-out", { running: false })]),
    down("mta03"),
  ];
  const r = assessFleet(fleet, { thresholds: DEFAULT_THRESHOLDS, groupsOf: () => ["mta"] });

  it("Prometheus text format that a parser reads: one series per host and instance, labelled host/instance/group", () => {
    const { families, series } = prometheusFamilies(renderPrometheus(r, new Date("2026-12-06T12:00:00Z")));
    expect(families.postfleet_instance_up!.type).toBe("GAUGE");
    expect(series("postfleet_host_reachable")).toEqual([
      [{ host: "mta01" }, 1],
      [{ host: "mta02" }, 1],
      [{ host: "mta03" }, 0],
    ]);
    expect(series("postfleet_instance_up")).toEqual([
      [{ host: "mta01", instance: "-", group: "mta" }, 1],
      [{ host: "mta01", instance: "postfix-out", group: 'odd"grp\\' }, 1],
      [{ host: "mta02", instance: "-", group: "mta" }, 1],
      [{ host: "mta02", instance: "postfix-out", group: "mta" }, 0],
    ]);
    expect(series("postfleet_queue_messages")).toContainEqual([{ host: "mta01", instance: "postfix-out", group: 'odd"grp\\', queue: "deferred" }, 2]);
    expect(series("postfleet_queue_messages")).toHaveLength(4 * 6);
    expect(series("postfleet_queue_oldest_seconds")).toContainEqual([{ host: "mta01", instance: "postfix-out", group: 'odd"grp\\', queue: "deferred" }, 120]);
    expect(series("postfleet_queue_oldest_seconds")).toContainEqual([{ host: "mta01", instance: "-", group: "mta", queue: "deferred" }, 0]);
    expect(series("postfleet_problems")).toContainEqual([{ kind: "enabled_not_running" }, 1]);
    expect(series("postfleet_report_timestamp_seconds")).toEqual([[{}, 1796558400]]);
    expect(series("postfleet_postfix_info")).toContainEqual([{ host: "mta01", version: "3.7.11" }, 1]);
  });

  it("a Nagios line with perfdata: CRITICAL for a host down or an instance stopped, WARNING for queues, OK otherwise", () => {
    expect(renderNagios(r, false)).toEqual({
      line: "POSTFLEET CRITICAL - 1 host unreachable or failed, 1 enabled instance not running | hosts=3 unreachable=1;;0 instances=4 not_running=1;;0 disabled_running=0;0 queues_over=0;0 queues_unreadable=0;0 missing=0;0 deferred=2 active=0\n",
      exitCode: 2,
    });
    const busy = assessFleet([facts("a", [inst("-", { deferred: 9 })])], { thresholds: { ...DEFAULT_THRESHOLDS, maxDeferred: 5 }, groupsOf: () => [] });
    expect(renderNagios(busy, false)).toMatchObject({ exitCode: 1, line: expect.stringMatching(/^POSTFLEET WARNING - 1 instance with queues over thresholds \|/) });
    const fine = assessFleet([facts("a", [inst("-")])], { thresholds: DEFAULT_THRESHOLDS, groupsOf: () => [] });
    expect(renderNagios(fine, false)).toMatchObject({ exitCode: 0, line: expect.stringMatching(/^POSTFLEET OK - 1 hosts, 1 instances \|/) });
    expect(renderNagios(fine, true).exitCode).toBe(3);
  });

  it("queues the agent could not read are a problem, never a count of 0", () => {
    const error = "cannot read /var/spool/postfix/deferred (EACCES); the agent runs as uid 1000, and Postfix's queues are readable by root only (become)";
    const { queues: _none, ...blind } = inst("-");
    const r2 = assessFleet([facts("a", [{ ...blind, queueError: error } as never])], { thresholds: DEFAULT_THRESHOLDS, groupsOf: () => [] });
    expect(r2.summary).toMatchObject({ queuesUnreadable: 1, queuesOverThreshold: 0, problems: 1 });
    expect(r2.rows[0]).toMatchObject({ queues: null, queueError: error, problems: [`queues not counted: ${error}`] });
    expect(renderNagios(r2, false)).toMatchObject({ exitCode: 1, line: expect.stringMatching(/^POSTFLEET WARNING - 1 instance whose queues could not be read \|.* queues_unreadable=1;0 /) });
    const { families, series } = prometheusFamilies(renderPrometheus(r2, new Date(0)));
    expect(series("postfleet_problems")).toContainEqual([{ kind: "queue_unreadable" }, 1]);
    expect(series("postfleet_instance_problem")).toEqual([[{ host: "a", instance: "-", group: "mta" }, 1]]);
    expect(families.postfleet_queue_messages).toBeUndefined(); // unknown, not 0
  });
});
