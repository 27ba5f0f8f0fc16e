// `postfleet lab up|status|down` manages exactly its own containers.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureLabImage } from "../../../src/lab/engine.js";
import { jsonOf, postfleet } from "../../support/cli.js";

const docker = (...args: string[]) => execFileSync("docker", args, { encoding: "utf8" }).trim();

describe("postfleet lab", () => {
  const dir = mkdtempSync(join(tmpdir(), "postfleet-labcmd-"));
  let bystander = "";
  beforeAll(() => {
    // Somebody else's container, even from the same image: must survive `lab down`.
    bystander = docker("run", "-d", "--rm", "--label", "org.example.other=1", "--entrypoint", "sleep", ensureLabImage(), "600");
  });
  afterAll(() => {
    if (bystander) docker("rm", "-f", bystander);
    rmSync(dir, { recursive: true, force: true });
  });

  it("brings up 2 hosts with an inventory that ping reaches under strict host-key checking", async () => {
    const up = await postfleet(["lab", "up", "2", "--dir", dir, "--json"]);
    expect(up.exitCode, up.stderr).toBe(0);
    const lab = jsonOf(up);
    expect(lab.hosts).toHaveLength(2);
    expect(lab.inventory).toBe(join(dir, "inventory.yml"));
    const ping = await postfleet(["-i", lab.inventory, "--json", "ping"], { env: { HOME: join(dir, "home") } });
    expect(ping.exitCode, ping.stderr).toBe(0);
    expect(jsonOf(ping).summary.ok).toBe(2);
  });

  it("refuses a second 'up' on the same directory", async () => {
    const again = await postfleet(["lab", "up", "1", "--dir", dir]);
    expect(again.exitCode).toBe(1);
    expect(again.stderr).toMatch(/already up/);
  });

  it("status lists its hosts", async () => {
    const st = await postfleet(["lab", "status", "--dir", dir]);
    expect(st.exitCode).toBe(0);
    expect(st.stdout).toMatch(/^mta01\s+running/m);
    expect(st.stdout).toMatch(/^mta02\s+running/m);
  });

  it("down removes exactly this lab's containers", async () => {
    const down = await postfleet(["lab", "down", "--dir", dir]);
    expect(down.exitCode).toBe(0);
    expect(down.stderr).toMatch(/removed 2 container/);
    expect(docker("ps", "-aq", "--filter", `label=org.postfleet.lab=${dir}`)).toBe("");
    expect(docker("ps", "-q", "--filter", `id=${bystander}`)).not.toBe("");
  });
});
