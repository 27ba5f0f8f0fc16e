import { describe, expect, it } from "vitest";
import { renderCsv, renderHtml, renderTable, type InstanceRow } from "../../../src/report/instance-table.js";

const row = (host: string, instance: string, extra: Partial<InstanceRow> = {}): InstanceRow => ({
  host,
  instance,
  group: "mta",
  enabled: true,
  running: false,
  configDirectory: `/etc/${instance}`,
  queueDirectory: `/var/spool/${instance}`,
  dataDirectory: `/var/lib/${instance}`,
  postfixVersion: "3.7.11",
  queues: { maildrop: 0, incoming: 0, active: 1, deferred: 12, hold: 0, corrupt: 0 },
  ...extra,
});

describe("report renderers", () => {
  it("aligns the table and lists hosts that gave no facts", () => {
    const t = renderTable([row("mta01", "postfix-out"), row("mta02", "postfix-in")], [
      { host: "mta03", status: "unreachable", error: "connection refused", results: [], durationMs: 0 },
    ]);
    const lines = t.split("\n");
    expect(lines[0]).toMatch(/^host\s+instance\s+group\s+enabled\s+running\s+config_directory/);
    expect(lines[1]).toMatch(/^mta01\s+postfix-out\s+mta\s+yes\s+no\s+\/etc\/postfix-out/);
    expect(lines[1]!.indexOf("postfix-out")).toBe(lines[2]!.indexOf("postfix-in"));
    expect(t).toContain("mta03: UNREACHABLE: connection refused");
  });

  it("quotes CSV fields that need it", () => {
    const csv = renderCsv([row("mta01", 'odd,"name"')]);
    const [header, first] = csv.split("\r\n");
    expect(header).toBe(
      "host,instance,group,enabled,running,config_directory,queue_directory,data_directory,postfix,maildrop,incoming,active,deferred,hold,corrupt",
    );
    expect(first).toBe('mta01,"odd,""name""",mta,yes,no,"/etc/odd,""name""","/var/spool/odd,""name""","/var/lib/odd,""name""",3.7.11,0,0,1,12,0,0');
  });

  it("makes one self-contained HTML page with every value escaped", () => {
    const html = renderHtml([row("mta01", "<script>alert(1)</script>")], [], new Date("2026-01-01T00:00:00Z"));
    expect(html).not.toContain("<script>alert(1)");
    expect(html).toContain("&#60;script&#62;alert(1)&#60;/script&#62;");
    expect(html).not.toMatch(/<(link|img)\b|src=|href=/);
    expect(html).toContain('id="filter"');
    expect(html).toContain("1 instances on 1 hosts");
  });
});
