// `postfleet drift` on 4 real lab hosts: a fleet without drift (host-specific
// values normalized), then one host with a changed parameter, one with an
// extra master.cf service, one without an instance, one with another group;
// snapshots, a playbook as the reference, exit codes, and the HTML page in a
// real headless Chromium.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureChromium, launchChromium } from "../../support/chromium.js";
import { jsonOf, postfleet } from "../../support/cli.js";
import { startLab, type Lab } from "../../support/lab.js";
import { closedPort } from "../../support/net.js";

describe("postfleet drift on a 4-host lab", () => {
  let lab: Lab;
  let inv: string;
  const run = (args: string[]) => postfleet(["-i", inv, ...args], { env: { HOME: join(lab.dir, "home") } });
  const host = (name: string) => lab.hosts.find((h) => h.name === name)!;
  async function sh(name: string, cmd: string): Promise<string> {
    const r = await host(name).exec(cmd);
    if (r.exitCode !== 0) throw new Error(`${name}: ${cmd}: exit ${r.exitCode}: ${r.stderr}`);
    return r.stdout;
  }

  beforeAll(async () => {
    ensureChromium(); // apt-get install chromium when missing (as root), before the lab, within the hook's time
    lab = await startLab(4);
    inv = lab.inventoryPath;
    for (const args of [["-e", "init"], ["-I", "postfix-out", "-G", "mta", "-e", "create"], ["-I", "postfix-in", "-G", "mta", "-e", "create"]]) {
      const r = await run(["postmulti", ...args]);
      if (r.exitCode !== 0) throw new Error(`postmulti ${args.join(" ")}: ${r.stderr}`);
    }
    // Host-specific values: each host's own name and address, which must not count as drift.
    await Promise.all(
      lab.hosts.map((h) =>
        sh(h.name, `postconf -c /etc/postfix-out -e myhostname=${h.name}.example.com smtp_bind_address=$(hostname -i) smtpd_timeout=1200s`),
      ),
    );
  });
  afterAll(async () => {
    await lab?.stop();
  });

  it("a fleet without drift: one line per instance name, host names and addresses normalised, exit 0 with --exit-code", async () => {
    const r = await run(["drift", "--exit-code"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain("postfleet drift: 4 hosts compared with each other");
    expect(r.stdout).toMatch(/^- \(primary\): no drift \(4 hosts\)$/m);
    expect(r.stdout).toMatch(/^postfix-out: no drift \(4 hosts\)$/m);
    expect(r.stdout).toMatch(/^postfix-in: no drift \(4 hosts\)$/m);
    expect(r.stdout).toMatch(/postfix-out main\.cf myhostname: \{inventory_hostname\} on 4 hosts/);
    expect(r.stdout).toMatch(/postfix-out main\.cf smtp_bind_address: \{address\} on 4 hosts/);
    expect(r.stdout).toMatch(/\nno drift\n$/);

    const j = await run(["drift", "--json"]);
    const doc = jsonOf(j);
    expect(doc.drift.drift).toBe(false);
    expect(doc.drift.instances.map((i: any) => i.name)).toEqual(["-", "postfix-out", "postfix-in"]);
    expect(doc.hosts[0].data.instances.map((i: any) => [i.name, i.order])).toEqual([["-", 0], ["postfix-out", 1], ["postfix-in", 2]]);
    expect(doc.hosts[0].data.instances[1].hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it("saves a snapshot, then finds a changed parameter, an extra service, a missing instance and another group", async () => {
    const snap = join(lab.dir, "baseline.json");
    const s = await run(["drift", "--save", snap]);
    expect(s.exitCode, s.stderr).toBe(0);
    expect(s.stderr).toContain(`saved the configuration of 4 host(s) to ${snap}`);
    expect(JSON.parse(readFileSync(snap, "utf8")).instances["postfix-out"].main.myhostname).toBe("{inventory_hostname}.example.com");

    await sh("mta02", "postconf -c /etc/postfix-out -e smtpd_timeout=300s");
    await sh("mta03", "postconf -c /etc/postfix-out -M 'submission/inet=submission inet n - y - - smtpd -o syslog_name=postfix/submission'");
    await sh("mta04", "postmulti -i postfix-in -e destroy");
    await sh("mta01", "postmulti -i postfix-in -G other -e assign");

    const r = await run(["drift"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^- \(primary\): no drift \(4 hosts\)$/m);
    expect(r.stdout).toContain(
      [
        "postfix-out: DRIFT on 2 hosts",
        "  reference: mta01, mta04",
        "  mta02:",
        "    main.cf changed smtpd_timeout: 1200s → 300s",
        "  mta03:",
        "    master.cf added submission/inet = submission inet n - y - - smtpd -o syslog_name=postfix/submission",
        "postfix-in: DRIFT on 2 hosts",
        "  reference: mta02, mta03",
        "  mta01:",
        "    group mta → other",
        "  mta04:",
        "    instance missing",
      ].join("\n"),
    );

    const e = await run(["drift", "--exit-code", "--json"]);
    expect(e.exitCode).toBe(5);
    const out = jsonOf(e).drift.instances.find((i: any) => i.name === "postfix-out");
    expect(out.reference.hosts).toEqual(["mta01", "mta04"]);
    expect(out.outliers).toContainEqual({
      hosts: ["mta02"],
      differences: [{ what: "main.cf", change: "changed", name: "smtpd_timeout", reference: "1200s", actual: "300s" }],
    });

    // --ignore takes the changed parameter out (a glob); the other drift stays.
    const ig = await run(["drift", "--ignore", "smtpd_time*", "-l", "mta01:mta02"]);
    expect(ig.stdout).toMatch(/^postfix-out: no drift \(2 hosts\)$/m);
    expect(ig.stdout).toContain("ignored: smtpd_time*");

    // Against the snapshot: every host compared with the saved reference, not with the majority.
    const a = await run(["drift", "--against", snap, "--exit-code", "-l", "mta02:mta04"]);
    expect(a.exitCode, a.stderr).toBe(5);
    expect(a.stdout).toContain(`compared with the snapshot ${snap}`);
    expect(a.stdout).toContain("  mta02:\n    main.cf changed smtpd_timeout: 1200s → 300s");
    expect(a.stdout).toContain("  mta04:\n    instance missing");
    const same = await run(["drift", "--against", snap, "--exit-code", "-l", "mta01"]);
    expect(same.exitCode).toBe(5); // mta01's postfix-in is in group "other" now
    expect(same.stdout).toContain("  mta01:\n    group mta → other");
  });

  it("--against a playbook: only what its instances/postconf steps declare is compared", async () => {
    const pb = join(lab.dir, "declared.yml");
    writeFileSync(
      pb,
      [
        "- name: declared",
        "  hosts: all",
        "  steps:",
        "    - instances:",
        "        - name: postfix-out",
        "          group: mta",
        "          state: disabled",
        "          main_cf:",
        "            myhostname: \"{{ inventory_hostname }}.example.com\"",
        "            smtpd_timeout: 1200s",
        "    - instances: [postfix-out]",
        "      postconf:",
        "        master_cf:",
        "          submission/inet: null",
        "",
      ].join("\n"),
    );
    const r = await run(["drift", "--against", pb, "--json", "--exit-code"]);
    expect(r.exitCode, r.stderr).toBe(5);
    const d = jsonOf(r).drift;
    expect(d.against).toBe(`playbook ${pb}`);
    expect(d.instances.map((i: any) => i.name)).toEqual(["postfix-out"]);
    expect(d.instances[0].outliers).toEqual([
      { hosts: ["mta02"], differences: [{ what: "main.cf", change: "changed", name: "smtpd_timeout", reference: "1200s", actual: "300s" }] },
      { hosts: ["mta03"], differences: [{ what: "master.cf", change: "added", name: "submission/inet", actual: "submission inet n - y - - smtpd -o syslog_name=postfix/submission" }] },
    ]);
  });

  it("exit codes: an unreachable host keeps 3 even with --exit-code and drift; a bad snapshot is an input error", async () => {
    const dead = await closedPort();
    const mixed = join(lab.dir, "mixed.yml");
    writeFileSync(mixed, readFileSync(lab.inventoryPath, "utf8") + `    down:\n      hosts:\n        mta99:\n          ansible_host: 127.0.0.1\n          ansible_port: ${dead}\n`);
    const r = await postfleet(["-i", mixed, "drift", "--exit-code"], { env: { HOME: join(lab.dir, "home") } });
    expect(r.exitCode).toBe(3);
    expect(r.stdout).toMatch(/not compared: mta99 \(unreachable/);
    expect(r.stdout).toContain("drift found");

    const bad = join(lab.dir, "bad.json");
    writeFileSync(bad, '{"hello": 1}\n');
    const b = await run(["drift", "--against", bad]);
    expect(b.exitCode).toBe(1);
    expect(b.stderr).toContain("not a postfleet drift snapshot");
  });

  it("the HTML page in headless Chromium: one section per instance, the outliers' rows, the filter and sorting work", async () => {
    const page = join(lab.dir, "drift.html");
    const r = await run(["drift", "--format", "html", "-o", page]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain(`wrote the drift report of 4 host(s) to ${page} (drift found)`);
    const browser = await launchChromium();
    try {
      const p = await browser.open(page);
      expect(await p.evaluate("Array.from(document.querySelectorAll('section h2')).map(h => h.textContent)")).toEqual(["- (primary)", "postfix-out", "postfix-in"]);
      const visible = `Array.from(document.querySelectorAll('tr.outlier')).filter(r => getComputedStyle(r).display !== 'none').map(r => Array.from(r.cells).map(c => c.textContent))`;
      const all = await p.evaluate<string[][]>(visible);
      expect(all).toContainEqual(["mta02", "main.cf", "changed", "smtpd_timeout", "1200s", "300s"]);
      expect(all).toContainEqual(["mta03", "master.cf", "added", "submission/inet", "", "submission inet n - y - - smtpd -o syslog_name=postfix/submission"]);
      expect(all).toContainEqual(["mta04", "instance", "missing", "", "", ""]);
      expect(all).toContainEqual(["mta01", "group", "changed", "", "mta", "other"]);
      expect(all).toHaveLength(4);

      await p.evaluate("document.getElementById('filter').focus()");
      await p.insertText("mta04");
      expect(await p.evaluate<string[][]>(visible)).toEqual([["mta04", "instance", "missing", "", "", ""]]);

      // Clear the filter; sort postfix-in's outliers by host, descending (second click).
      await p.evaluate("(() => { const f = document.getElementById('filter'); f.value = ''; f.dispatchEvent(new Event('input')); })()");
      await p.evaluate("(() => { const th = document.querySelector('section[data-instance=\"postfix-in\"] table.diffs th[data-col=\"0\"]'); th.click(); th.click(); })()");
      expect(await p.evaluate("Array.from(document.querySelectorAll('section[data-instance=\"postfix-in\"] table.diffs tbody tr')).map(r => r.cells[0].textContent)")).toEqual([
        "mta04",
        "mta01",
      ]);
    } finally {
      await browser.close();
    }
  });
});
