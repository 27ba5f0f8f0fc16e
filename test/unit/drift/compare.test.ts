import { describe, expect, it } from "vitest";
import type { DriftData } from "../../../src/orchestrator/drift-data.js";
import type { HostOutcome } from "../../../src/orchestrator/run-document.js";
import type { Playbook, Step } from "../../../src/playbook/index.js";
import type { InstanceConfig, MasterService } from "../../../src/protocol/index.js";
import { compareFleet, makeSnapshot, parseSnapshot, type DriftReport } from "../../../src/drift/compare.js";
import { declaredState } from "../../../src/drift/declared.js";
import { renderDriftHtml } from "../../../src/report/drift-html.js";
import { commandWithoutOptions, globMatcher, hostTokens, makeReplacer } from "../../../src/drift/normalize.js";
import { renderDriftText } from "../../../src/report/drift-text.js";

const SMTP: MasterService = {
  key: "smtp/inet",
  line: "smtp inet n - y - - smtpd",
  fields: { service: "smtp", type: "inet", private: "n", unprivileged: "-", chroot: "y", wakeup: "-", process_limit: "-", command: "smtpd" },
  params: {},
};

function inst(name: string, order: number, main: Record<string, string> = {}, o: Partial<InstanceConfig> = {}): InstanceConfig {
  const primary = name === "-";
  return {
    name,
    group: primary ? "-" : "mta",
    enabled: !primary ? false : true,
    configDirectory: primary ? "/etc/postfix" : `/etc/${name}`,
    primary,
    order,
    main: { queue_directory: `/var/spool/${name}`, ...(primary ? {} : { multi_instance_name: name, multi_instance_group: o.group ?? "mta" }), ...main },
    master: [SMTP],
    hash: "x",
    ...o,
  };
}

function host(name: string, instances: InstanceConfig[], extra: Partial<DriftData> = {}, n = Number(name.slice(-1))): HostOutcome {
  const data: DriftData = {
    kind: "drift",
    postfixVersion: "3.7.11",
    names: { inventory: name, ansibleHost: `10.0.0.${n}`, hostname: `${name}.example.net`, addresses: [`172.17.0.${n}`] },
    instances,
    ...extra,
  };
  return { host: name, status: "ok", results: [], durationMs: 1, data };
}

/** A host with the primary and postfix-out whose own names appear in its settings. */
const fleetHost = (name: string, mainOut: Record<string, string> = {}, more: InstanceConfig[] = []) => {
  const n = Number(name.slice(-1));
  return host(name, [
    inst("-", 0, { myhostname: `${name}.example.net` }),
    inst("postfix-out", 1, { smtp_bind_address: `172.17.0.${n}`, smtpd_banner: `${name} ESMTP`, smtpd_timeout: "1200s", ...mainOut }),
    ...more,
  ]);
};

const drift = (r: DriftReport, name: string) => r.instances.find((i) => i.name === name)!;

describe("normalisation", () => {
  it("replaces the host's names and addresses only where they stand as whole names", () => {
    const tokens = hostTokens({ inventory: "mta1", ansibleHost: "10.0.0.1", hostname: "mta1.example.net", addresses: ["172.17.0.2"] });
    const replace = makeReplacer(tokens);
    expect(replace("mta1.example.net mta1 mta10 xmta1 10.0.0.1 10.0.0.12 172.17.0.2:25").value).toBe(
      "{hostname} {inventory_hostname} mta10 xmta1 {ansible_host} 10.0.0.12 {address}:25",
    );
    expect(replace("MTA1.Example.NET").used).toEqual(["{hostname}"]);
  });

  it("never replaces loopback or wildcard names, and gives the short name of an FQDN inventory name", () => {
    const tokens = hostTokens({ inventory: "mx1.example.com", ansibleHost: "127.0.0.1", hostname: "localhost", addresses: [] });
    expect(tokens.map((t) => [t.token, t.placeholder])).toEqual([
      ["mx1.example.com", "{inventory_hostname}"],
      ["mx1", "{short_name}"],
    ]);
    expect(makeReplacer(tokens)("127.0.0.1 mx1").value).toBe("127.0.0.1 {short_name}");
  });

  it("globs: *, ? and [...] over the whole name", () => {
    const m = globMatcher(["smtpd_tls_*", "relay?host", "x[ab]"]);
    expect(["smtpd_tls_cert_file", "relayhost2", "relay_host", "xa", "xc", "smtpd_tls"].map(m)).toEqual([true, false, true, true, false, false]);
  });

  it("master.cf commands lose their -o options (compared one by one from postconf -P)", () => {
    expect(commandWithoutOptions("smtp -o syslog_name=postfix/$service_name -v")).toBe("smtp -v");
    expect(commandWithoutOptions("smtpd -o { smtpd_mumble = a b }")).toBe("smtpd");
  });
});

describe("majority comparison", () => {
  it("a fleet without drift: every instance name has no outliers; host-specific values are reported as normalised", () => {
    const { report } = compareFleet({ outcomes: ["mta1", "mta2", "mta3"].map((h) => fleetHost(h)), ignore: [] });
    expect(report.drift).toBe(false);
    expect(report.instances.map((i) => [i.name, i.outliers.length, i.reference.hosts.length])).toEqual([
      ["-", 0, 3],
      ["postfix-out", 0, 3],
    ]);
    expect(report.normalised).toEqual([
      { instance: "-", setting: "main.cf myhostname", placeholders: ["{hostname}"], hosts: ["mta1", "mta2", "mta3"] },
      { instance: "postfix-out", setting: "main.cf smtp_bind_address", placeholders: ["{address}"], hosts: ["mta1", "mta2", "mta3"] },
      { instance: "postfix-out", setting: "main.cf smtpd_banner", placeholders: ["{inventory_hostname}"], hosts: ["mta1", "mta2", "mta3"] },
    ]);
    const text = renderDriftText(report);
    expect(text).toContain("- (primary): no drift (3 hosts)\npostfix-out: no drift (3 hosts)\n");
    expect(text).toMatch(/no drift\n$/);
  });

  it("the largest group is the reference; each other group lists its differences, naming its hosts", () => {
    const extraService: MasterService = { ...SMTP, key: "submission/inet", line: "submission inet n - y - - smtpd", fields: { ...SMTP.fields, service: "submission" }, params: { syslog_name: "postfix/submission" } };
    const outcomes = [
      fleetHost("mta1"),
      fleetHost("mta2", { smtpd_timeout: "300s", relayhost: "[hub]" }),
      fleetHost("mta3"),
      fleetHost("mta4"),
      host("mta5", [inst("-", 0, { myhostname: "mta5.example.net" }), { ...inst("postfix-out", 1, { smtp_bind_address: "172.17.0.5", smtpd_banner: "mta5 ESMTP", smtpd_timeout: "1200s" }), master: [SMTP, extraService] }]),
      fleetHost("mta6", { smtpd_timeout: "300s", relayhost: "[hub]" }),
    ];
    const { report } = compareFleet({ outcomes, ignore: [] });
    const out = drift(report, "postfix-out");
    expect(out.reference.hosts).toEqual(["mta1", "mta3", "mta4"]);
    expect(out.outliers).toEqual([
      {
        hosts: ["mta2", "mta6"],
        differences: [
          { what: "main.cf", change: "added", name: "relayhost", actual: "[hub]" },
          { what: "main.cf", change: "changed", name: "smtpd_timeout", reference: "1200s", actual: "300s" },
        ],
      },
      { hosts: ["mta5"], differences: [{ what: "master.cf", change: "added", name: "submission/inet", actual: "submission inet n - y - - smtpd" }] },
    ]);
    expect(report.drift).toBe(true);
    expect(renderDriftText(report)).toContain(
      "postfix-out: DRIFT on 3 hosts\n  reference: mta1, mta3, mta4\n  mta2, mta6:\n    main.cf added relayhost = [hub]\n    main.cf changed smtpd_timeout: 1200s → 300s\n  mta5:\n    master.cf added submission/inet = submission inet n - y - - smtpd\n",
    );
  });

  it("changed master.cf fields and -o parameters, removed parameters", () => {
    const changed = { ...SMTP, fields: { ...SMTP.fields, chroot: "n" }, params: { smtpd_tls_security_level: "none" } };
    const outcomes = [fleetHost("mta1"), fleetHost("mta2"), host("mta3", [inst("-", 0, { myhostname: "mta3.example.net" }), { ...inst("postfix-out", 1, { smtp_bind_address: "172.17.0.3", smtpd_banner: "mta3 ESMTP" }), master: [changed] }])];
    const out = drift(compareFleet({ outcomes, ignore: [] }).report, "postfix-out");
    expect(out.outliers[0]!.differences).toEqual([
      { what: "main.cf", change: "removed", name: "smtpd_timeout", reference: "1200s" },
      { what: "master.cf", change: "changed", name: "smtp/inet/chroot", reference: "y", actual: "n" },
      { what: "master.cf", change: "added", name: "smtp/inet/smtpd_tls_security_level", actual: "none" },
    ]);
  });

  it("a missing instance, an extra one and another group; a missing instance does not move the others' order", () => {
    const pin = (order: number, o: Partial<InstanceConfig> = {}) => inst("postfix-in", order, {}, o);
    const outcomes = [
      fleetHost("mta1", {}, [pin(2)]),
      fleetHost("mta2", {}, [pin(2)]),
      host("mta3", [inst("-", 0, { myhostname: "mta3.example.net" }), pin(1), inst("postfix-out", 2, { smtp_bind_address: "172.17.0.3", smtpd_banner: "mta3 ESMTP", smtpd_timeout: "1200s" })]),
      fleetHost("mta4", {}, [pin(2, { group: "other" }), inst("postfix-x", 3)]),
      fleetHost("mta5"),
    ];
    const { report } = compareFleet({ outcomes, ignore: [] });
    const pinD = drift(report, "postfix-in");
    expect(pinD.reference.hosts).toEqual(["mta1", "mta2"]);
    expect(pinD.outliers).toEqual([
      { hosts: ["mta3"], differences: [{ what: "order", change: "changed", reference: "after postfix-out", actual: "after -" }] },
      { hosts: ["mta4"], differences: [{ what: "group", change: "changed", reference: "mta", actual: "other" }] },
      { hosts: ["mta5"], differences: [{ what: "instance", change: "missing" }] },
    ]);
    const out = drift(report, "postfix-out");
    expect(out.outliers).toEqual([]); // mta5 has no postfix-in: postfix-out is "after -" everywhere
    const x = drift(report, "postfix-x");
    expect(x.reference).toMatchObject({ hosts: ["mta1", "mta2", "mta3", "mta5"], config: null });
    expect(x.outliers).toEqual([{ hosts: ["mta4"], differences: [{ what: "instance", change: "extra" }] }]);
    expect(renderDriftText(report)).toContain("postfix-x: DRIFT on 1 host\n  reference: mta1, mta2, mta3, mta5 (no such instance)\n  mta4:\n    instance extra (not in the reference)\n");
  });

  it("--ignore drops parameters (main.cf and -o) before comparing, and says so", () => {
    const outcomes = [fleetHost("mta1"), fleetHost("mta2", { smtpd_timeout: "300s" }), fleetHost("mta3")];
    const { report } = compareFleet({ outcomes, ignore: ["smtpd_t*"] });
    expect(report.drift).toBe(false);
    expect(report.ignored).toEqual(["smtpd_t*"]);
    expect(renderDriftText(report)).toContain("ignored: smtpd_t*\n");
  });

  it("another Postfix version is drift; hosts without data are listed as not compared", () => {
    const old = fleetHost("mta3");
    (old.data as DriftData).postfixVersion = "3.5.0";
    const down: HostOutcome = { host: "mta9", status: "unreachable", error: "connection refused", results: [], durationMs: 1 };
    const { report } = compareFleet({ outcomes: [fleetHost("mta1"), fleetHost("mta2"), old, down], ignore: [] });
    expect(report.versionDrift).toBe(true);
    expect(report.drift).toBe(true);
    expect(report.missingHosts).toEqual([{ host: "mta9", status: "unreachable", error: "connection refused" }]);
    const text = renderDriftText(report);
    expect(text).toContain("DRIFT: postfix 3.7.11 on mta1, mta2; postfix 3.5.0 on mta3\n");
    expect(text).toContain("not compared: mta9 (unreachable: connection refused)\n");
  });
});

describe("what normalisation leaves alone, and instances that could not be read", () => {
  it("a host named like a service does not rewrite its services; a service's own address is normalised", () => {
    const bound = (n: number): MasterService => ({
      ...SMTP,
      key: `172.17.0.${n}:smtp/inet`,
      line: `172.17.0.${n}:smtp inet n - y - - smtpd -o smtp_helo_name=c${n}`,
      fields: { ...SMTP.fields, service: `172.17.0.${n}:smtp`, command: `smtpd -o smtp_helo_name=c${n}` },
      params: { smtp_helo_name: `c${n}` },
    });
    const h = (name: string, n: number) =>
      host(name, [{ ...inst("-", 0), master: [SMTP, bound(n)] }], { names: { inventory: name, hostname: `c${n}`, addresses: [`172.17.0.${n}`] } });
    const { report } = compareFleet({ outcomes: [h("smtp", 1), h("mta2", 2), h("mta3", 3)], ignore: [] });
    expect(report.drift).toBe(false);
    expect(report.instances[0]!.reference.config!.master).toHaveProperty(["smtp/inet"]);
    expect(report.instances[0]!.reference.config!.master["{address}:smtp/inet"]!.line).toBe("{address}:smtp inet n - y - - smtpd -o smtp_helo_name={hostname}");
    expect(report.normalised).toEqual([{ instance: "-", setting: "master.cf {address}:smtp/inet", placeholders: ["{address}", "{hostname}"], hosts: ["smtp", "mta2", "mta3"] }]);
  });

  it("an instance the agent could not read is left out of that instance's comparison, not reported missing", () => {
    const broken = fleetHost("mta3", {}, []);
    (broken.data as DriftData).instances[1] = { ...inst("postfix-out", 1), main: {}, master: [], error: "postconf: bad field count" };
    const { report } = compareFleet({ outcomes: [fleetHost("mta1"), fleetHost("mta2", { smtpd_timeout: "1s" }), broken], ignore: [] });
    const out = drift(report, "postfix-out");
    expect(out.reference.hosts).toEqual(["mta1"]);
    expect(out.outliers.map((g) => g.hosts)).toEqual([["mta2"]]);
    expect(report.unreadable).toEqual([{ host: "mta3", instance: "postfix-out", error: "postconf: bad field count" }]);
    expect(renderDriftText(report)).toContain("not compared: mta3 instance postfix-out (postconf: bad field count)\n");
  });
});

describe("snapshots", () => {
  it("saves the majority's reference with placeholders; compares every host with it, not with the majority", () => {
    const saved = compareFleet({ outcomes: [fleetHost("mta1"), fleetHost("mta2"), fleetHost("mta3", { smtpd_timeout: "5s" })], ignore: [] });
    const snap = parseSnapshot(JSON.parse(JSON.stringify(makeSnapshot(saved.hosts, saved.reference, [], new Date(0)))), "s.json");
    expect(snap.instances["postfix-out"]!.main).toMatchObject({ smtp_bind_address: "{address}", smtpd_timeout: "1200s" });
    // Now the whole fleet has 5s: the majority sees no drift, the snapshot does.
    const now = ["mta1", "mta2", "mta7"].map((h) => fleetHost(h, { smtpd_timeout: "5s" }));
    expect(compareFleet({ outcomes: now, ignore: [] }).report.drift).toBe(false);
    const { report } = compareFleet({ outcomes: now, ignore: [], against: { kind: "snapshot", file: "s.json", snapshot: snap } });
    expect(report.against).toBe("snapshot s.json");
    expect(drift(report, "postfix-out").outliers).toEqual([
      { hosts: ["mta1", "mta2", "mta7"], differences: [{ what: "main.cf", change: "changed", name: "smtpd_timeout", reference: "1200s", actual: "5s" }] },
    ]);
    expect(drift(report, "-").outliers).toEqual([]);
    expect(() => parseSnapshot({ kind: "other" }, "x.json")).toThrow(/x\.json: not a postfleet drift snapshot/);
  });
});

describe("against a playbook", () => {
  const at = { file: "p.yml", line: 1, column: 1 };
  const settings = (main: Record<string, string>, master: Record<string, Record<string, string | null> | null> = {}, mainAbsent: string[] = []) => ({ main, master, mainAbsent });
  function playbook(stepsFor: (h: string) => Step[]): Playbook {
    const hosts = ["mta1", "mta2", "mta3"];
    return {
      file: "p.yml",
      warnings: [],
      plays: [
        {
          index: 0,
          name: "p",
          location: at,
          pattern: "all",
          hosts,
          order: "inventory",
          batches: [hosts],
          maxFail: null,
          pauseBetweenBatchesMs: 0,
          vars: {},
          steps: Object.fromEntries(hosts.map((h) => [h, stepsFor(h)])),
        },
      ],
    };
  }

  it("compares only what the instances/postconf steps declare, rendered per host", () => {
    const pb = playbook((h) => [
      {
        type: "instances",
        index: 0,
        name: "i",
        location: at,
        instances: [
          { name: "postfix-out", group: "mta", state: "disabled", config: settings({ smtpd_banner: `${h} ESMTP`, smtpd_timeout: "1200s" }) },
          { name: "postfix-old", state: "absent", config: settings({}) },
        ],
      },
      { type: "postconf", index: 1, name: "p", location: at, select: { kind: "group", group: "mta" }, config: settings({}, { "submission/inet": null }, ["relayhost"]) },
    ]);
    const sub: MasterService = { ...SMTP, key: "submission/inet", line: "submission inet n - y - - smtpd" };
    const outcomes = [
      fleetHost("mta1"),
      fleetHost("mta2", { smtpd_timeout: "300s", relayhost: "[hub]" }),
      host("mta3", [inst("-", 0), { ...inst("postfix-out", 1, { smtpd_banner: "mta3 ESMTP", smtpd_timeout: "1200s" }), master: [SMTP, sub] }, inst("postfix-old", 2)]),
    ];
    const { report } = compareFleet({ outcomes, ignore: [], against: { kind: "playbook", file: "p.yml", declared: (h) => declaredState(pb, h) } });
    expect(report.instances.map((i) => i.name)).toEqual(["postfix-out", "postfix-old"]);
    expect(drift(report, "postfix-out").outliers).toEqual([
      {
        hosts: ["mta2"],
        differences: [
          { what: "main.cf", change: "changed", name: "smtpd_timeout", reference: "1200s", actual: "300s" },
          { what: "main.cf", change: "added", name: "relayhost", actual: "[hub]" },
        ],
      },
      { hosts: ["mta3"], differences: [{ what: "master.cf", change: "added", name: "submission/inet", actual: "submission inet n - y - - smtpd" }] },
    ]);
    expect(drift(report, "postfix-old").outliers).toEqual([{ hosts: ["mta3"], differences: [{ what: "instance", change: "extra" }] }]);
  });
});

describe("HTML page", () => {
  it("is self-contained: one section per instance name, outliers' rows, the reference configuration, escaped values", () => {
    const { report } = compareFleet({ outcomes: [fleetHost("mta1"), fleetHost("mta2"), fleetHost("mta3", { smtpd_banner: "<b>x</b>" })], ignore: [] });
    const html = renderDriftHtml(report, new Date(0));
    expect(html.match(/<section /g)).toHaveLength(2);
    expect(html).toContain('<tr class="outlier"><td>mta3</td><td>main.cf</td><td>changed</td><td>smtpd_banner</td><td>{inventory_hostname} ESMTP</td><td>&#60;b&#62;x&#60;/b&#62;</td></tr>');
    expect(html).toContain("<summary>reference configuration</summary>");
    expect(html).not.toMatch(/<(script|link|img)[^>]+(src|href)=/);
  });
});
