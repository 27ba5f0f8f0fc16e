// `postfleet report` on 2 real lab hosts plus one that cannot be reached:
// an enabled instance stopped (mta02), a deferred queue over its threshold
// (mta01's postfix-out relays to a closed port), a host down (mta99). The
// summary and problem rows first in text and JSON, --exit-code, Prometheus
// metrics read back by a parser, the Nagios line, and the HTML page in a real
// headless Chromium.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureChromium, launchChromium } from "../../support/chromium.js";
import { jsonOf, postfleet } from "../../support/cli.js";
import { startLab, type Lab } from "../../support/lab.js";
import { closedPort } from "../../support/net.js";
import { prometheusFamilies } from "../../support/prometheus.js";

describe("postfleet report on a 2-host lab and a host down", () => {
  let lab: Lab;
  let mixed: string; // the 2 lab hosts + mta99, unreachable
  const run = (args: string[]) => postfleet(["-i", mixed, ...args], { env: { HOME: join(lab.dir, "home") } });
  const host = (name: string) => lab.hosts.find((h) => h.name === name)!;
  async function sh(name: string, cmd: string): Promise<string> {
    const r = await host(name).exec(cmd);
    if (r.exitCode !== 0) throw new Error(`${name}: ${cmd}: exit ${r.exitCode}: ${r.stderr}`);
    return r.stdout;
  }
  const LIMITS = ["--max-deferred", "2"];

  beforeAll(async () => {
    ensureChromium();
    lab = await startLab(2);
    const dead = await closedPort();
    mixed = join(lab.dir, "mixed.yml");
    writeFileSync(mixed, readFileSync(lab.inventoryPath, "utf8") + `    down:\n      hosts:\n        mta99:\n          ansible_host: 127.0.0.1\n          ansible_port: ${dead}\n`);
    const setup = "postmulti -e init && postmulti -I postfix-out -G mta -e create && postmulti -i postfix-out -e enable && postmulti -p start";
    await Promise.all([sh("mta01", setup), sh("mta02", `${setup} && postmulti -i postfix-out -p stop`)]);
    // 3 messages deferred on mta01's postfix-out: its relay is a closed port.
    await sh(
      "mta01",
      "postconf -c /etc/postfix-out -e 'relayhost=[127.0.0.1]:2599' authorized_submit_users=static:anyone && postfix -c /etc/postfix-out reload && " +
        "for n in 1 2 3; do printf 'Subject: stuck %s\\n\\nx\\n' $n | sendmail -C /etc/postfix-out -f a@lab.test b@lab.test || exit 1; done; " +
        "for i in $(seq 100); do [ \"$(postqueue -c /etc/postfix-out -j | grep -c '\"queue_name\": \"deferred\"')\" = 3 ] && exit 0; sleep 0.2; done; postqueue -c /etc/postfix-out -p; exit 1",
    );
  });
  afterAll(async () => {
    await lab?.stop();
  });

  it("text: the summary, then the problem rows marked, then the rest; --exit-code keeps 3 for the host down, 6 for problems alone, 0 without", async () => {
    const r = await run(["report", ...LIMITS]);
    expect(r.exitCode).toBe(3);
    const lines = r.stdout.split("\n");
    expect(lines[0]).toBe("postfleet report: 3 hosts (2 reporting), 4 instances");
    expect(lines[1]).toMatch(/^postfix: 3\.\d+\.\d+ on 2 hosts$/);
    expect(lines[2]).toBe("queue thresholds: deferred > 2, active > 1000, oldest deferred > 2d");
    expect(lines[3]).toBe("PROBLEMS: 1 host unreachable or failed; 1 enabled instance not running; 1 instance with queues over thresholds");
    expect(lines[5]).toMatch(/^\s+host\s+instance\s+group\s+enabled\s+running/);
    expect(lines[6]).toMatch(/^!\s+mta01\s+postfix-out\s+mta\s+yes\s+yes\s.*\s3\s+0\s+0\s+\d+s\s+deferred 3 > 2$/);
    expect(lines[7]).toMatch(/^!\s+mta02\s+postfix-out\s+mta\s+yes\s+no\s.*enabled, not running$/);
    expect(lines[8]).toMatch(/^!\s+mta99\s+unreachable: /);
    expect(lines.slice(9).filter((l) => /mta0/.test(l))).toHaveLength(2);
    expect(lines.slice(9).every((l) => !l.startsWith("!"))).toBe(true);

    const e = await run(["report", "--exit-code", ...LIMITS, "-l", "mta01:mta02"]);
    expect(e.exitCode).toBe(6);
    const fine = await run(["report", "--exit-code", "-l", "mta01", "--max-deferred", "off"]);
    expect(fine.exitCode, fine.stdout).toBe(0);
    expect(fine.stdout).toContain("\nno problems\n");
    const old = await run(["report", "--exit-code", "-l", "mta01", "--max-deferred", "off", "--max-oldest-deferred", "0"]);
    expect(old.exitCode).toBe(6);
    expect(old.stdout).toMatch(/oldest deferred \d+s > 0s$/m);

    const bad = await run(["report", "--max-oldest-deferred", "soon"]);
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toContain("--max-oldest-deferred: 'soon' is no age");
  });

  it("JSON: a problems summary with the problem rows, every instance with its problems and the oldest deferred age", async () => {
    const doc = jsonOf(await run(["report", "--json", ...LIMITS]));
    expect(doc.problems).toMatchObject({ hosts: 3, hostsReporting: 2, instances: 4, enabledNotRunning: 1, disabledRunning: 0, hostsUnreachable: 1, queuesOverThreshold: 1, missingInstances: 0, problems: 3 });
    expect(doc.problems.thresholds).toEqual({ maxDeferred: 2, maxActive: 1000, maxOldestDeferredS: 172800 });
    expect(doc.problems.rows.map((r: any) => [r.host, r.instance, r.kind, r.problems])).toEqual([
      ["mta01", "postfix-out", "instance", ["deferred 3 > 2"]],
      ["mta02", "postfix-out", "instance", ["enabled, not running"]],
      ["mta99", "", "host", [expect.stringMatching(/^unreachable: /)]],
    ]);
    const out = doc.instances.find((r: any) => r.host === "mta01" && r.instance === "postfix-out");
    expect(out.queues.deferred).toBe(3);
    expect(out.oldestDeferredS).toBeGreaterThanOrEqual(0);
    expect(out.oldestDeferredS).toBeLessThan(600);
    expect(doc.instances).toHaveLength(4);
  });

  it("Prometheus text written atomically with -o, read back by a parser: one series per host and instance", async () => {
    const dir = join(lab.dir, "textfile");
    mkdirSync(dir);
    const file = join(dir, "postfleet.prom");
    const r = await run(["report", "--format", "prometheus", "-o", file, ...LIMITS]);
    expect(r.exitCode).toBe(3);
    expect(readdirSync(dir)).toEqual(["postfleet.prom"]);
    const { series } = prometheusFamilies(readFileSync(file, "utf8"));
    expect(series("postfleet_host_reachable")).toEqual([
      [{ host: "mta01" }, 1],
      [{ host: "mta02" }, 1],
      [{ host: "mta99" }, 0],
    ]);
    expect(series("postfleet_instance_up")).toEqual([
      [{ host: "mta01", instance: "-", group: "-" }, 1],
      [{ host: "mta01", instance: "postfix-out", group: "mta" }, 1],
      [{ host: "mta02", instance: "-", group: "-" }, 1],
      [{ host: "mta02", instance: "postfix-out", group: "mta" }, 0],
    ]);
    expect(series("postfleet_instance_enabled").every(([, v]) => v === 1)).toBe(true);
    expect(series("postfleet_queue_messages")).toContainEqual([{ host: "mta01", instance: "postfix-out", group: "mta", queue: "deferred" }, 3]);
    const oldest = series("postfleet_queue_oldest_seconds").find(([l]) => (l as any).host === "mta01" && (l as any).instance === "postfix-out");
    expect(oldest![1]).toBeGreaterThanOrEqual(0);
    expect(series("postfleet_problems")).toContainEqual([{ kind: "enabled_not_running" }, 1]);
    const stamp = series("postfleet_report_timestamp_seconds")[0]![1] as number;
    expect(Math.abs(stamp - Date.now() / 1000)).toBeLessThan(120);
  });

  it("Nagios: one CRITICAL line with perfdata, exit 2", async () => {
    const r = await run(["report", "--format", "nagios", ...LIMITS]);
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toBe(
      "POSTFLEET CRITICAL - 1 host unreachable or failed, 1 enabled instance not running, 1 instance with queues over thresholds | hosts=3 unreachable=1;;0 instances=4 not_running=1;;0 disabled_running=0;0 queues_over=1;0 queues_unreadable=0;0 missing=0;0 deferred=3 active=0\n",
    );
  });

  it("the HTML page in headless Chromium: the summary, the problem rows first and highlighted, 'problems only' and the filter", async () => {
    const page = join(lab.dir, "fleet.html");
    const r = await run(["report", "--format", "html", "-o", page, ...LIMITS]);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain(`wrote 4 instances of 2 hosts to ${page} (3 problems)`);
    const browser = await launchChromium();
    try {
      const p = await browser.open(page);
      expect(await p.evaluate("document.getElementById('verdict').textContent")).toBe(
        "PROBLEMS: 1 host unreachable or failed; 1 enabled instance not running; 1 instance with queues over thresholds",
      );
      const visible = `Array.from(document.querySelectorAll('#report tbody tr')).filter(r => getComputedStyle(r).display !== 'none').map(r => [r.cells[0].textContent, r.cells[1].textContent, r.cells[r.cells.length - 1].textContent, getComputedStyle(r.cells[0]).backgroundColor])`;
      const all = await p.evaluate<string[][]>(visible);
      expect(all).toHaveLength(5);
      const red = "rgb(253, 232, 232)";
      expect(all.slice(0, 3).map((x) => [x[0], x[1], x[3]])).toEqual([
        ["mta01", "postfix-out", red],
        ["mta02", "postfix-out", red],
        ["mta99", "", red],
      ]);
      expect(all[0]![2]).toBe("deferred 3 > 2");
      expect(all.slice(3).every((x) => x[2] === "" && x[3] !== red)).toBe(true);

      await p.evaluate("document.getElementById('problems-only').click()");
      expect((await p.evaluate<string[][]>(visible)).map((x) => x[0])).toEqual(["mta01", "mta02", "mta99"]);
      await p.evaluate("document.getElementById('filter').focus()");
      await p.insertText("mta02");
      expect((await p.evaluate<string[][]>(visible)).map((x) => [x[0], x[2]])).toEqual([["mta02", "enabled, not running"]]);
      await p.evaluate("document.getElementById('problems-only').click()");
      expect((await p.evaluate<string[][]>(visible)).map((x) => x[1]).sort()).toEqual(["-", "postfix-out"]);

      // Sorting works as before: by host, descending (second click), all rows shown again.
      await p.evaluate("(() => { const f = document.getElementById('filter'); f.value = ''; f.dispatchEvent(new Event('input')); const th = document.querySelector('th[data-col=\"0\"]'); th.click(); th.click(); })()");
      expect((await p.evaluate<string[][]>(visible)).map((x) => x[0])).toEqual(["mta99", "mta02", "mta02", "mta01", "mta01"]);
    } finally {
      await browser.close();
    }
  });
});
