// A health gate that fails, on real lab hosts built with create-instances.yml:
// postfix-out's SMTP listener waits for a haproxy PROXY header
// (smtpd_upstream_proxy_protocol = haproxy on its inet service), so it never
// sends a 220 banner to the gate's probe. Its start fails the gate within
// healthy_timeout; the host is failed, later instances and later steps are
// left as they were, and the report (human and --json) says which instance is
// in which state.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jsonOf } from "../../support/cli.js";
import { startLab, type Lab, type TestLabHost } from "../../support/lab.js";
import { explain, outcomeOf, PLAYBOOKS, runningInstances, runPlaybook, writePlaybook, type PlaybookDocument } from "../../support/playbook.js";

const GATE_S = 6;
const playbook = (action: "restart" | "start") =>
  writePlaybook(
    `${action}.yml`,
    `- name: gated ${action}
  hosts: all
  serial: 1
  max_fail: 1
  steps:
    - name: ${action} the enabled instances
      instances: enabled
      ${action}:
        healthy_timeout: ${GATE_S}s
    - name: after
      instances: ["-"]
      run: ["touch", "/tmp/after"]
`,
  );

describe("a health gate that never passes", { timeout: 480_000 }, () => {
  let lab: Lab;
  let mta01: TestLabHost;

  beforeAll(async () => {
    lab = await startLab(2);
    mta01 = lab.hosts[0]!;
    const r = await runPlaybook(lab, join(PLAYBOOKS, "create-instances.yml"), ["--json"]);
    expect(r.exitCode, explain(r)).toBe(0);
    // postfix-out's listener now waits for a PROXY header: no banner for a plain client.
    const p = await mta01.exec(["postconf", "-c", "/etc/postfix-out", "-P", "127.0.0.1:10026/inet/smtpd_upstream_proxy_protocol=haproxy"]);
    expect(p.exitCode, p.stderr).toBe(0);
  }, 600_000);
  afterAll(async () => {
    await lab?.stop();
  });

  it("restart: postfix-out fails its gate within healthy_timeout; postfix-in stays stopped; later steps and hosts untouched (--json)", async () => {
    const r = await runPlaybook(lab, playbook("restart"), ["--json"]);
    const doc: PlaybookDocument = jsonOf(r);
    expect(r.exitCode, explain(r)).toBe(2);
    const h = outcomeOf(doc, "mta01");
    expect(h.status).toBe("failed");
    const [restart, after] = h.steps;
    expect(restart!.status).toBe("failed");
    const byName = Object.fromEntries(restart!.instances.map((i) => [i.instance, i]));
    // The primary came back; postfix-out was started but never answered; postfix-in was stopped and left so.
    expect(byName["-"]).toMatchObject({ status: "changed", action: expect.stringMatching(/^stopped, started, healthy after \d+\.\d s$/) });
    expect(byName["postfix-out"]).toMatchObject({ status: "failed", action: "started" });
    expect(byName["postfix-out"]!.error).toMatch(new RegExp(`^started but not healthy within ${GATE_S} s: smtp: `));
    expect(byName["postfix-out"]!.health!.find((c) => c.kind === "master")!.ok).toBe(true);
    expect(byName["postfix-out"]!.health!.find((c) => c.kind === "smtp")!.ok).toBe(false);
    expect(byName["postfix-in"]).toMatchObject({ status: "failed", action: "stopped, not started again" });
    // Within the gate's timeout (plus the stop/start work), not the 600 s operation timeout.
    expect(byName["postfix-out"]!.durationMs).toBeLessThan((GATE_S + 20) * 1000);
    expect(restart!.error).toMatch(/^postfix-out: started but not healthy/);
    expect(after).toMatchObject({ status: "skipped", skipped: "an earlier step failed (restart the enabled instances)" });
    expect(h.error).toMatch(/^step 1 \(restart the enabled instances\): postfix-out: started but not healthy/);
    // The host as it really is.
    expect(await runningInstances(mta01)).toEqual({ "-": true, "postfix-out": true, "postfix-in": false });
    expect((await mta01.exec(["test", "-e", "/tmp/after"])).exitCode).not.toBe(0);
    // max_fail 1: mta02 never attempted, its instances as they were (running).
    expect(outcomeOf(doc, "mta02")).toMatchObject({ status: "skipped" });
    expect(outcomeOf(doc, "mta02").error).toMatch(/failure budget spent/);
    expect(await runningInstances(lab.hosts[1]!)).toEqual({ "-": true, "postfix-out": true, "postfix-in": true });
  });

  it("start: the gate fails on postfix-out, postfix-in is not started and the human report says so, per instance", async () => {
    await mta01.exec("postmulti -p stop");
    expect(await runningInstances(mta01)).toEqual({ "-": false, "postfix-out": false, "postfix-in": false });
    const r = await runPlaybook(lab, playbook("start"), ["-l", "mta01"]);
    expect(r.exitCode, explain(r)).toBe(2);
    const out = r.stdout;
    expect(out).toMatch(/^mta01 \| FAILED: step 1 \(start the enabled instances\): postfix-out: started but not healthy within 6 s: smtp: /m);
    expect(out).toMatch(/^ {2}\[failed\] start the enabled instances$/m);
    expect(out).toMatch(/^ {4}- started, healthy after \d+\.\d s via postfix$/m);
    expect(out).toMatch(/^ {4}postfix-out started via postfix: started but not healthy within 6 s: smtp: /m);
    // The failed gate's checks, one by one: the master runs, SMTP does not answer.
    expect(out).toMatch(/^ {6}gate: ✓ master: .* ✗ smtp: 127\.0\.0\.1:10026: /m);
    expect(out).toMatch(/^ {4}postfix-in not started \(postfix-out failed first; left as it was\)$/m);
    expect(out).toMatch(/^ {2}\[skipped\] after \(an earlier step failed \(start the enabled instances\)\)$/m);
    expect(out).toMatch(/^mta01 : ok=0 {2}changed=0 {2}failed=1 {2}unreachable=0 {2}skipped=1$/m);
    expect(await runningInstances(mta01)).toEqual({ "-": true, "postfix-out": true, "postfix-in": false });
  });
});
