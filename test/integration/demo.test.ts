// `npm run demo` end to end (the bundles are built by the integration set-up).
import { execFileSync, spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

describe("the demo", () => {
  it("builds the border MTA on 4 lab hosts with create-instances.yml, restarts it with rolling-restart.yml, and removes the lab", () => {
    const r = spawnSync(process.execPath, [join(import.meta.dirname, "..", "..", "scripts", "demo.mjs")], {
      encoding: "utf8",
      env: { ...process.env, NO_COLOR: "1" },
      timeout: 900_000,
    });
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    // The report leads with its summary: nothing wrong on a freshly built fleet.
    expect(r.stdout).toMatch(/^postfleet report: 4 hosts \(4 reporting\), 12 instances\n[\s\S]*?^no problems$/m);
    for (const host of ["mta01", "mta02", "mta03", "mta04"]) {
      for (const inst of ["postfix-out", "postfix-in"]) {
        // A report row ("  ", or "! " for a row with a problem, then the host).
        expect(r.stdout).toMatch(new RegExp(`^ {2}${host}\\s+${inst}\\s+mta\\s+yes\\s+yes`, "m"));
      }
    }
    expect(r.stdout).toContain("demo: 12 instances on 4 hosts are enabled and running.");
    // The playbooks ran in batches, the dry run first, and the second run changed nothing.
    expect(r.stdout).toMatch(/^BATCH 1\/4 \(1 host\): mta01$/m);
    // The recap folds the four hosts with the same line.
    expect(r.stdout).toMatch(/RECAP run \S+create-instances\.yml --check\nmta\[01:04\] \(4 hosts\) : ok=0 {2}changed=2 .*\n/);
    expect(r.stdout).toMatch(/RECAP run \S+create-instances\.yml\nmta\[01:04\] \(4 hosts\) : ok=2 {2}changed=0 .*\n/);
    expect(r.stdout).toMatch(/postfix-in stopped, started, healthy after [\d.]+ s via postfix/);
    const dir = /^lab directory: (.+)$/m.exec(r.stdout)?.[1];
    expect(dir).toBeTruthy();
    const left = execFileSync("docker", ["ps", "-aq", "--filter", `label=org.postfleet.lab=${dir}`], { encoding: "utf8" });
    expect(left.trim()).toBe("");
  }, 900_000);
});
