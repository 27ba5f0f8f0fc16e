// The product as operators meet it: `postfleet` against 4 real lab hosts
// (plus one that cannot be reached), through inventory, SSH, agent push and
// the agent's long-running mode.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateLoginKey } from "../../../src/lab/keys.js";
import { jsonOf, postfleet } from "../../support/cli.js";
import { startLab, type Lab } from "../../support/lab.js";
import { closedPort } from "../../support/net.js";


describe("postfleet CLI on a 4-host lab", () => {
  let lab: Lab;
  let inv: string; // the 4 lab hosts
  let mixed: string; // + one unreachable host
  const home = () => join(lab.dir, "home");

  beforeAll(async () => {
    lab = await startLab(4);
    inv = lab.inventoryPath;
    const dead = await closedPort();
    mixed = join(lab.dir, "mixed.yml");
    writeFileSync(
      mixed,
      readFileSync(inv, "utf8") + `    down:\n      hosts:\n        mta99:\n          ansible_host: 127.0.0.1\n          ansible_port: ${dead}\n`,
    );
  });
  afterAll(async () => {
    await lab?.stop();
  });

  const run = (args: string[]) => postfleet(args, { env: { HOME: home() } });

  it("--list-hosts prints the selected hosts in inventory order and connects to none", async () => {
    const r = await run(["-i", mixed, "-l", "all:!mta02", "--list-hosts", "ping"]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe("  hosts (4):\n    mta01\n    mta03\n    mta04\n    mta99\n");
  });

  it("ping reaches every host with strict host keys and reports Node.js and Postfix versions", async () => {
    const r = await run(["-i", inv, "ping", "--json"]);
    const doc = jsonOf(r);
    expect(r.exitCode).toBe(0);
    expect(doc.summary).toMatchObject({ ok: 4, changed: 0, failed: 0, unreachable: 0 });
    expect(doc.hosts.map((h: any) => h.host)).toEqual(["mta01", "mta02", "mta03", "mta04"]);
    for (const h of doc.hosts) {
      expect(h.data.nodeVersion).toMatch(/^v?18\./);
      expect(h.data.postfixVersion).toMatch(/^3\.7\./);
    }
    expect(r.stderr).toBe("");
  });

  it("an unreachable host among reachable ones: exit 3, the others still done", async () => {
    const r = await run(["-i", mixed, "ping", "--json"]);
    const doc = jsonOf(r);
    expect(r.exitCode).toBe(3);
    expect(doc.summary).toMatchObject({ ok: 4, unreachable: 1, failed: 0 });
    const down = doc.hosts.find((h: any) => h.host === "mta99");
    expect(down.status).toBe("unreachable");
    expect(down.error).toMatch(/refused|unreachable/i);
  });

  it("a wrong key fails that host (exit 2) with an authentication error", async () => {
    const other = generateLoginKey(join(lab.dir, "other"));
    const wrong = join(lab.dir, "wrong-key.yml");
    writeFileSync(wrong, readFileSync(inv, "utf8").replace(lab.privateKeyPath, other.privateKeyPath));
    const w = await run(["-i", wrong, "-l", "mta01", "--json", "ping"]);
    const doc = jsonOf(w);
    expect(w.exitCode).toBe(2);
    expect(doc.hosts[0].status).toBe("failed");
    expect(doc.hosts[0].error).toMatch(/auth/i);
  });

  it("refuses a host whose key does not match known_hosts, saying so", async () => {
    const kh = join(lab.dir, "known_hosts.bad");
    const h1 = lab.hosts[0]!;
    const h2 = lab.hosts[1]!;
    writeFileSync(kh, `[127.0.0.1]:${h1.port} ${h2.hostKey.split(" ").slice(0, 2).join(" ")}\n`);
    const bad = join(lab.dir, "bad-kh.yml");
    writeFileSync(bad, readFileSync(inv, "utf8").replace(lab.knownHostsPath, kh));
    const r = await run(["-i", bad, "-l", "mta01", "--json", "ping"]);
    const doc = jsonOf(r);
    expect(r.exitCode).toBe(2);
    expect(doc.hosts[0].status).toBe("failed");
    expect(doc.hosts[0].error).toMatch(/host key/i);
    expect(doc.hosts[0].error).toMatch(/SHA256:/);
  });

  it("runs the border-MTA life cycle fleet-wide and lists it per host", async () => {
    const init = await run(["-i", inv, "--json", "postmulti", "-e", "init"]);
    expect(init.exitCode, init.stderr).toBe(0);
    expect(jsonOf(init).summary).toMatchObject({ changed: 4, failed: 0 });
    const create = await run(["-i", inv, "--json", "postmulti", "-I", "postfix-out", "-G", "mta", "-e", "create"]);
    expect(create.exitCode, create.stderr).toBe(0);
    expect(jsonOf(create).summary).toMatchObject({ changed: 4 });

    // -v: every host in full; by default the four identical listings fold into one block and one recap line.
    const list = await run(["-i", inv, "-v", "postmulti", "-l"]);
    expect(list.exitCode).toBe(0);
    for (const h of ["mta01", "mta02", "mta03", "mta04"]) expect(list.stdout).toContain(`${h} | OK`);
    expect(list.stdout.match(/postfix-out\s+mta\s+n\s+\/etc\/postfix-out/g)?.length).toBe(4);
    expect(list.stdout).toMatch(/RECAP/);
    const folded = await run(["-i", inv, "postmulti", "-l"]);
    expect(folded.stdout).toMatch(/^mta\[01:04\] \(4 hosts\) \| OK\n/m);
    expect(folded.stdout.match(/postfix-out\s+mta\s+n\s+\/etc\/postfix-out/g)?.length).toBe(1);
    expect(folded.stdout).toMatch(/^mta\[01:04\] \(4 hosts\) : ok=/m);

    for (const h of lab.hosts) {
      const l = await h.exec("postmulti -l");
      expect(l.stdout).toMatch(/^postfix-out\s+mta\s+n\s+\/etc\/postfix-out$/m);
    }
  });

  it("dry-run (--check) reports what would change and changes nothing", async () => {
    const before = await lab.hosts[0]!.exec("postmulti -l; cat /etc/postfix/main.cf");
    const r = await run(["-i", inv, "-l", "mta01", "--check", "--json", "postmulti", "-I", "postfix-in", "-G", "mta", "-e", "create"]);
    expect(r.exitCode, r.stderr).toBe(0);
    const doc = jsonOf(r);
    expect(doc.hosts[0].data.dryRun).toBe(true);
    expect(JSON.stringify(doc.hosts[0])).toContain("postfix-in");
    const after = await lab.hosts[0]!.exec("postmulti -l; cat /etc/postfix/main.cf");
    expect(after.stdout).toBe(before.stdout);
  });

  it("passes shell metacharacters to postmulti verbatim and runs nothing else", async () => {
    const evil = "a b; touch /tmp/pwned1 $(touch /tmp/pwned2) `touch /tmp/pwned3` 'q' \"d\"";
    const r = await run(["-i", inv, "-l", "mta01", "--json", "postmulti", "-i", "-", "-x", "printf", "%s|", evil]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(jsonOf(r).hosts[0].results[0].stdout).toBe(`${evil}|`);
    const bad = await run(["-i", inv, "-l", "mta01", "--json", "postmulti", "-I", "postfix-x;touch /tmp/pwned4", "-e", "create"]);
    expect(bad.exitCode).toBe(2);
    expect(jsonOf(bad).hosts[0].error).toMatch(/postmulti: fatal: .*postfix-x;touch \/tmp\/pwned4/);
    const probe = await lab.hosts[0]!.exec("ls /tmp/pwned* 2>/dev/null | wc -l");
    expect(probe.stdout.trim()).toBe("0");
  });

  it("report gives every instance with state, directories, version and queue counts, in four formats", async () => {
    const j = await run(["-i", inv, "report", "--format", "json"]);
    expect(j.exitCode, j.stdout.slice(0, 4000)).toBe(0);
    const doc = jsonOf(j);
    expect(doc.instances).toHaveLength(8);
    const out = doc.instances.find((r: any) => r.host === "mta03" && r.instance === "postfix-out");
    expect(out).toMatchObject({
      group: "mta",
      enabled: false,
      running: false,
      configDirectory: "/etc/postfix-out",
      queueDirectory: "/var/spool/postfix-out",
      dataDirectory: "/var/lib/postfix-out",
    });
    expect(out.postfixVersion).toMatch(/^3\.7\./);
    expect(out.queues).toEqual({ maildrop: 0, incoming: 0, active: 0, deferred: 0, hold: 0, corrupt: 0 });

    const table = await run(["-i", inv, "report"]);
    expect(table.stdout.split("\n")[0]).toBe("postfleet report: 4 hosts (4 reporting), 8 instances");
    expect(table.stdout.split("\n")[5]).toMatch(/^\s+host\s+instance\s+group/);
    expect(table.stdout.match(/^!?\s+mta0\d\s+postfix-out\s+mta\s+no\s+no/gm)?.length).toBe(4);

    const csv = await run(["-i", inv, "report", "--format", "csv"]);
    expect(csv.stdout.split("\r\n").filter(Boolean)).toHaveLength(9);

    const file = join(lab.dir, "fleet.html");
    const html = await run(["-i", inv, "report", "--format", "html", "-o", file]);
    expect(html.exitCode).toBe(0);
    const page = readFileSync(file, "utf8");
    expect(page).toContain("8 instances on 4 hosts");
    expect(page.match(/<tr( class="problem instance")?><td>mta0\d<\/td>/g)?.length).toBe(8);
  });

  it("starts enabled instances in order and stops them in reverse, fleet-wide", async () => {
    expect((await run(["-i", inv, "postmulti", "-i", "postfix-out", "-e", "enable"])).exitCode).toBe(0);
    const start = await run(["-i", inv, "--json", "postmulti", "-p", "start"]);
    expect(start.exitCode, start.stderr).toBe(0);
    const order = jsonOf(start).hosts[0].results.map((x: any) => x.instance);
    expect(order).toEqual(["-", "postfix-out"]);
    const rep = jsonOf(await run(["-i", inv, "report", "--json"]));
    expect(rep.instances.every((r: any) => r.running)).toBe(true);
    const stop = await run(["-i", inv, "--json", "postmulti", "-p", "stop"]);
    expect(jsonOf(stop).hosts[0].results.map((x: any) => x.instance)).toEqual(["postfix-out", "-"]);
  });

  it("an interrupted run finishes the hosts in progress, skips the rest and exits 4", async () => {
    let kill: (s: NodeJS.Signals) => void = () => undefined;
    const p = postfleet(["-i", inv, "-f", "1", "--json", "postmulti", "-i", "-", "-x", "sleep", "2"], {
      env: { HOME: home() },
      onSpawn: (k) => (kill = k),
    });
    await new Promise((r) => setTimeout(r, 2500));
    kill("SIGINT");
    const r = await p;
    expect(r.exitCode).toBe(4);
    const doc = jsonOf(r);
    expect(doc.aborted).toBe(true);
    expect(doc.summary.skipped).toBeGreaterThan(0);
    expect(doc.hosts.filter((h: any) => h.status === "ok").length).toBeGreaterThan(0);
  });

  it("pushes the agent once per content: later runs reuse it", async () => {
    const files = await lab.hosts[0]!.exec("ls -la /root/.cache/postfleet/");
    expect(files.stdout.match(/agent-[0-9a-f]{64}\.cjs/g)?.length).toBe(1);
    expect(files.stdout).toMatch(/^drwx------ .* \.$/m);
  });
});
