import { describe, expect, it } from "vitest";
import type { HostOutcome } from "../../../src/orchestrator/run-document.js";
import { assessFleet, DEFAULT_THRESHOLDS } from "../../../src/report/fleet-health.js";
import { renderCsv, renderHtml, renderTable } from "../../../src/report/instance-table.js";

const inst = (name: string, o: { enabled?: boolean; running?: boolean; deferred?: number } = {}) => ({
  name,
  group: "mta",
  enabled: o.enabled ?? true,
  running: o.running ?? true,
  primary: false,
  configDirectory: `/etc/${name}`,
  queueDirectory: `/var/spool/${name}`,
  dataDirectory: `/var/lib/${name}`,
  queues: { maildrop: 0, incoming: 0, active: 1, deferred: o.deferred ?? 0, hold: 0, corrupt: 0 },
});
const facts = (host: string, instances: ReturnType<typeof inst>[]): HostOutcome =>
  ({ host, status: "ok", results: [], durationMs: 1, data: { kind: "facts", postfixVersion: "3.7.11", instances } }) as unknown as HostOutcome;
const assess = (hosts: HostOutcome[]) => assessFleet(hosts, { thresholds: DEFAULT_THRESHOLDS, groupsOf: () => ["mta"] });

describe("report renderers", () => {
  it("the table starts with the summary, then the rows with a problem (marked '!'), aligned, then the rest", () => {
    const r = assess([
      facts("mta01", [inst("postfix-out"), inst("postfix-in")]),
      facts("mta02", [inst("postfix-out"), inst("postfix-in", { running: false })]),
      { host: "mta03", status: "unreachable", error: "connection refused", results: [], durationMs: 0 },
    ]);
    const lines = renderTable(r.rows, r.summary).split("\n");
    expect(lines.slice(0, 4)).toEqual([
      "postfleet report: 3 hosts (2 reporting), 4 instances",
      "postfix: 3.7.11 on 2 hosts",
      "queue thresholds: deferred > 500, active > 1000, oldest deferred > 2d",
      "PROBLEMS: 1 host unreachable or failed; 1 enabled instance not running",
    ]);
    expect(lines[5]).toMatch(/^\s+host\s+instance\s+group\s+enabled\s+running\s+config_directory/);
    expect(lines[6]).toMatch(/^!\s+mta02\s+postfix-in\s+mta\s+yes\s+no\s+\/etc\/postfix-in.*enabled, not running$/);
    expect(lines[7]).toMatch(/^!\s+mta03\s+unreachable: connection refused$/);
    expect(lines[8]).toMatch(/^\s+mta01\s+postfix-out\s+mta\s+yes\s+yes/);
    expect(lines[6]!.indexOf("postfix-in")).toBe(lines[8]!.indexOf("postfix-out"));
  });

  it("renders more rows than a function call takes arguments (a 200,000-instance fleet)", () => {
    const r = assess([facts("mta01", [inst("postfix-out")])]);
    const rows = Array.from({ length: 200_000 }, (_, i) => ({ ...r.rows[0]!, host: `mta${i}` }));
    const lines = renderTable(rows, r.summary).split("\n").filter((l) => l.includes("postfix-out"));
    expect(lines).toHaveLength(200_000);
    // Aligned: mta0 and mta199999 have their instance in the same column.
    expect(lines.at(-1)!.indexOf("postfix-out")).toBe(lines[0]!.indexOf("postfix-out"));
  });

  it("quotes CSV fields that need it", () => {
    const csv = renderCsv(assess([facts("mta01", [inst('odd,"name"', { deferred: 12 })])]).rows);
    const [header, first] = csv.split("\r\n");
    expect(header).toBe(
      "host,instance,group,enabled,running,config_directory,queue_directory,data_directory,postfix,maildrop,incoming,active,deferred,hold,corrupt,oldest_deferred,problems",
    );
    expect(first).toBe('mta01,"odd,""name""",mta,yes,yes,"/etc/odd,""name""","/var/spool/odd,""name""","/var/lib/odd,""name""",3.7.11,0,0,1,12,0,0,,');
  });

  it("makes one self-contained HTML page with every value escaped, the summary and the problem rows marked", () => {
    const r = assess([facts("mta01", [inst("<script>alert(1)</script>", { running: false })])]);
    const html = renderHtml(r.rows, r.summary, new Date("2026-01-01T00:00:00Z"));
    expect(html).not.toContain("<script>alert(1)");
    expect(html).toContain("&#60;script&#62;alert(1)&#60;/script&#62;");
    expect(html).not.toMatch(/<(link|img)\b|src=|href=/);
    expect(html).toContain('id="filter"');
    expect(html).toContain('id="problems-only"');
    expect(html).toContain("1 instances on 1 hosts");
    expect(html).toContain('<tr class="problem instance"><td>mta01</td>');
    expect(html).toContain("PROBLEMS: 1 enabled instance not running");
  });
});
