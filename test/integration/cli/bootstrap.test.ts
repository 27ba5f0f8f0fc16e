// A host without Node.js gets a clear error pointing to `postfleet bootstrap`,
// and bootstrap installs it with the host's package manager.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { join } from "node:path";
import { jsonOf, postfleet } from "../../support/cli.js";
import { startLab, type Lab } from "../../support/lab.js";

describe("postfleet bootstrap", () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await startLab(4);
    for (const i of [1, 3]) {
      const r = await lab.hosts[i]!.exec("dpkg --purge --force-depends nodejs >/dev/null 2>&1; command -v node || echo gone");
      expect(r.stdout.trim()).toBe("gone");
    }
  });
  afterAll(async () => {
    await lab?.stop();
  });
  const run = (args: string[]) => postfleet(args, { env: { HOME: join(lab.dir, "home") } });

  it("reports the missing Node.js per host and points to bootstrap; the other hosts are fine", async () => {
    const r = await run(["-i", lab.inventoryPath, "--json", "ping"]);
    expect(r.exitCode).toBe(2);
    const doc = jsonOf(r);
    expect(doc.hosts.map((h: any) => h.status)).toEqual(["ok", "failed", "ok", "failed"]);
    for (const h of [doc.hosts[1], doc.hosts[3]]) {
      expect(h.error).toMatch(/Node\.js/);
      expect(h.error).toMatch(/postfleet bootstrap/);
    }
  });

  it("installs Node.js where missing, leaves the other hosts alone, and then ping works", async () => {
    const r = await run(["-i", lab.inventoryPath, "--json", "bootstrap"]);
    expect(r.exitCode, r.stderr).toBe(0);
    const doc = jsonOf(r);
    expect(doc.hosts.map((h: any) => h.status)).toEqual(["ok", "changed", "ok", "changed"]);
    expect(doc.hosts[1].data.packageManager).toBe("apt-get");
    expect(doc.hosts[3].message).toMatch(/^installed Node\.js .* with apt-get/);
    const ping = await run(["-i", lab.inventoryPath, "--json", "ping"]);
    expect(ping.exitCode, ping.stderr).toBe(0);
    expect(jsonOf(ping).summary.ok).toBe(4);
    expect(jsonOf(ping).hosts[1].data.nodeVersion).toMatch(/^v?1[89]|^v?[2-9]\d/);
  }, 600_000);
});
