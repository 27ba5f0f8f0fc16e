// The shipped create-instances.yml on 4 real lab hosts: --check changes
// nothing (every file tree byte-identical), --diff announces exactly the
// changes the real run then makes, the run builds the MULTI_INSTANCE_README
// border MTA with output started before input, and a second run changes
// nothing and says so.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jsonOf, postfleet } from "../../support/cli.js";
import { startLab, type Lab } from "../../support/lab.js";
import { postfixLogLines } from "../../support/playbook.js";
import { postfixState } from "../../support/postfix-state.js";

const PLAYBOOK = join(import.meta.dirname, "..", "..", "..", "playbooks", "create-instances.yml");

type Doc = {
  check: boolean;
  summary: Record<string, number>;
  plays: Array<{ batches: Array<{ hosts: Array<{ host: string; status: string; steps: Array<{ name: string; status: string; instances: Array<{ instance: string; status: string; changes?: Array<{ name: string; before: string | null; after: string | null }> }> }> }> }> }>;
};

/** "host instance name → after" for every change the run made (or would make). */
function changes(doc: Doc): string[] {
  const out: string[] = [];
  for (const p of doc.plays)
    for (const b of p.batches)
      for (const h of b.hosts)
        for (const s of h.steps) for (const i of s.instances) for (const c of i.changes ?? []) out.push(`${h.host} ${i.instance} ${c.name}: ${c.before} → ${c.after}`);
  return out.sort();
}

// Each run is 4 sequential batches of real Postfix work; on a loaded 2-core machine that can take minutes.
describe("run playbooks/create-instances.yml on 4 hosts", () => {
  let lab: Lab;
  let checkDoc: Doc;
  let realDoc: Doc;
  const run = (args: string[]) => postfleet(["-i", lab.inventoryPath, "run", PLAYBOOK, ...args], { env: { HOME: join(lab.dir, "home") } });

  beforeAll(async () => {
    lab = await startLab(4);
  });
  afterAll(async () => {
    await lab?.stop();
  });

  it("--check --diff changes nothing on any host and says what each step would change", async () => {
    const before = await Promise.all(lab.hosts.map(postfixState));
    const r = await run(["--check", "--diff", "--json"]);
    checkDoc = jsonOf(r);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(checkDoc.check).toBe(true);
    expect(checkDoc.summary).toMatchObject({ changed: 4, failed: 0, unreachable: 0, skipped: 0 });
    const after = await Promise.all(lab.hosts.map(postfixState));
    for (const [i, b] of before.entries()) expect(after[i], lab.hosts[i]!.name).toBe(b);
    const text = await run(["--check", "--diff"]);
    expect(text.stdout).toContain("batch 1 (1 host): mta01");
    expect(text.stdout).toMatch(/~ relayhost: "" → \[mailhub\.example\.com\]/);
    expect(text.stdout).toMatch(/postfix-out would .*create/);
    expect(text.stdout).toMatch(/postfix-in would be started/);
  }, 360_000);

  it("builds the border MTA: instances in order, settings applied, output started before input, each gated", async () => {
    const r = await run(["--json"]);
    const doc: Doc = (realDoc = jsonOf(r));
    expect(r.exitCode, r.stderr).toBe(0);
    expect(doc.summary).toMatchObject({ changed: 4, failed: 0 });
    for (const h of lab.hosts) {
      const l = await h.exec("postmulti -l");
      expect(l.stdout).toMatch(/^-\s+-\s+y\s+\/etc\/postfix\npostfix-out\s+mta\s+y\s+\/etc\/postfix-out\npostfix-in\s+mta\s+y\s+\/etc\/postfix-in\n$/);
      expect((await h.exec("postconf -h relayhost")).stdout.trim()).toBe("[mailhub.example.com]");
      expect((await h.exec("postconf -c /etc/postfix-in -h default_transport")).stdout.trim()).toBe("smtp:[127.0.0.1]:10025");
      // Both listeners answer (the gate saw them too).
      const banners = await h.exec(["bash", "-c", "for p in 25 10026; do exec 3<>/dev/tcp/127.0.0.1/$p && head -c 4 <&3; echo; exec 3>&-; done"]);
      expect(banners.stdout).toBe("220 \n220 \n");
      // Postfix's own log: the primary's start comes first (the secondaries log nowhere yet).
      expect((await postfixLogLines(h)).filter((l) => l.includes("starting the Postfix mail system"))[0]).toMatch(/^postfix\/postfix-script: /);
    }
  }, 360_000);

  it("--diff of the dry run announced exactly the changes the real run made", () => {
    expect(changes(checkDoc).length).toBeGreaterThan(100);
    expect(changes(checkDoc)).toEqual(changes(realDoc));
  });

  it("a second run changes nothing and says so", async () => {
    const r = await run(["--json"]);
    const doc: Doc = jsonOf(r);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(doc.summary).toMatchObject({ ok: 4, changed: 0, failed: 0 });
    expect(changes(doc)).toEqual([]);
    const text = await run([]);
    expect(text.stdout).toMatch(/^mta\[01:04\] \(4 hosts\) : ok=2 {2}changed=0 {2}failed=0/m);
  }, 360_000);
});
