// `npm run demo` end to end (the bundles are built by the integration set-up).
import { execFileSync, spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

describe("the demo", () => {
  it("builds the border MTA on 4 mail-flow lab hosts with create-instances.yml, restarts it with rolling-restart.yml, ends with a probe-gated rolling restart, and removes the lab", () => {
    const r = spawnSync(process.execPath, [join(import.meta.dirname, "..", "..", "scripts", "demo.mjs")], {
      encoding: "utf8",
      env: { ...process.env, NO_COLOR: "1" },
      timeout: 900_000,
    });
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    // The report leads with its summary: nothing wrong on a freshly built fleet.
    expect(r.stdout).toMatch(/^postfleet report: 4 hosts \(4 reporting\), 16 instances\n[\s\S]*?^no problems$/m);
    for (const host of ["mta01", "mta02", "mta03", "mta04"]) {
      for (const inst of ["postfix-out", "postfix-filter", "postfix-in"]) {
        // A report row ("  ", or "! " for a row with a problem, then the host).
        expect(r.stdout).toMatch(new RegExp(`^ {2}${host}\\s+${inst}\\s+mta\\s+yes\\s+yes`, "m"));
      }
    }
    expect(r.stdout).toContain("demo: 16 instances on 4 hosts are enabled and running.");
    // The playbooks ran in batches, the dry run first, and the second run changed nothing.
    expect(r.stdout).toMatch(/^BATCH 1\/4 \(1 host\): mta01$/m);
    // The recap folds the four hosts with the same line.
    // The mail-flow lab starts with the instances there: the dry run finds settings to change.
    expect(r.stdout).toMatch(/RECAP run \S+create-instances\.yml --check\nmta\[01:04\] \(4 hosts\) : ok=\d+ {2}changed=[1-9]\d* .*\n/);
    expect(r.stdout).toMatch(/RECAP run \S+create-instances\.yml\nmta\[01:04\] \(4 hosts\) : ok=2 {2}changed=0 .*\n/);
    expect(r.stdout).toMatch(/postfix-in stopped, started, healthy after [\d.]+ s via postfix/);
    // The last act: the rolling restart gated on a probe crossing every hop of each host's chain, in batches, all passing.
    const last = r.stdout.slice(r.stdout.indexOf("== Last act: rolling restart gated on mail flowing"));
    expect(last).toContain("$ postfleet -i ");
    expect(last).toMatch(/rolling-restart\.yml -e probe=true -v\n/);
    expect(last).toMatch(/^BATCH 1\/4 \(1 host\): mta01$/m);
    expect(last.match(/mail flows \(delivered\): postfix-in \d+ ms → postfix-filter \d+ ms → postfix-out \d+ ms → 127\.0\.0\.1\[127\.0\.0\.1\]:2525/g)).toHaveLength(4);
    expect(last).toMatch(/RECAP run \S+rolling-restart\.yml\n(?:mta0[1-4] +: ok=\d+ {2}changed=\d+ {2}failed=0 {2}unreachable=0 .*\n){4}/);
    const dir = /^lab directory: (.+)$/m.exec(r.stdout)?.[1];
    expect(dir).toBeTruthy();
    const left = execFileSync("docker", ["ps", "-aq", "--filter", `label=org.postfleet.lab=${dir}`], { encoding: "utf8" });
    expect(left.trim()).toBe("");
  }, 900_000);
});
