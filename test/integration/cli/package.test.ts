// The package a user installs: `npm pack` builds it (prepack), and the tarball
// installed into an empty prefix runs `postfleet --version`, the README's main
// command by a shipped playbook's name (--list-hosts: nothing is reached),
// `postfleet completion`, and `postfleet lab up/down` from its own docker/.
import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { packageRoot } from "../../../src/lab/engine.js";

const run = promisify(execFile);

describe("the installed package", { timeout: 300_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "postfleet-pkg-"));
  const prefix = join(dir, "prefix");
  const bin = join(prefix, "bin", "postfleet");
  const labDir = join(dir, "lab");
  // An empty working directory: nothing of the source tree to lean on.
  const cwd = mkdtempSync(join(tmpdir(), "postfleet-pkg-cwd-"));
  const postfleet = (...args: string[]) =>
    run(bin, args, { cwd, env: { ...process.env, NO_COLOR: "1", HOME: join(dir, "home") } }).then(
      (r) => ({ code: 0, ...r }),
      (e: { code?: number; stdout?: string; stderr?: string }) => ({ code: e.code ?? -1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" }),
    );

  beforeAll(async () => {
    await run("npm", ["pack", "--pack-destination", dir], { cwd: packageRoot() });
    const tarball = readdirSync(dir).find((f) => f.endsWith(".tgz"))!;
    await run("npm", ["install", "-g", "--prefix", prefix, "--prefer-offline", "--no-audit", "--no-fund", join(dir, tarball)], { cwd });
  }, 600_000);
  afterAll(async () => {
    await postfleet("lab", "down", "--dir", labDir);
    rmSync(dir, { recursive: true, force: true });
    rmSync(cwd, { recursive: true, force: true });
  });

  it("runs postfleet --version", async () => {
    const r = await postfleet("--version");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it("finds a shipped playbook by its name, and names the shipped ones for an unknown name", async () => {
    const inv = join(cwd, "hosts.ini");
    await run("sh", ["-c", `printf '[mta]\\nmta[01:03]\\n' > '${inv}'`]);
    const r = await postfleet("-i", inv, "run", "rolling-restart", "--list-hosts");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(join(prefix, "lib", "node_modules", "postfleet", "playbooks", "rolling-restart.yml"));
    expect(r.stdout).toMatch(/mta01/);
    const bad = await postfleet("-i", inv, "run", "rolling-restrat", "--list-hosts");
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/ships none of that name \(shipped: .*create-instances, .*rolling-restart/);
  });

  it("prints a shell completion script", async () => {
    const r = await postfleet("completion");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/postfleet --get-yargs-completions/);
  });

  it("brings a lab up and down from the package's own docker/", async () => {
    const up = await postfleet("lab", "up", "1", "--dir", labDir, "--json");
    expect(up.code, up.stderr).toBe(0);
    expect(JSON.parse(up.stdout).hosts).toHaveLength(1);
    const down = await postfleet("lab", "down", "--dir", labDir);
    expect(down.code, down.stderr).toBe(0);
    expect(down.stderr).toMatch(/removed 1 container/);
  });
});
