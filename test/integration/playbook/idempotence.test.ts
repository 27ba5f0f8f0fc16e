// The shipped reload-group.yml and destroy-instance.yml on 2 real lab hosts
// built with create-instances.yml:
//  - reload-group.yml reloads only the group's instances (masters keep their
//    PIDs, the primary is untouched) and a second run leaves everything as
//    the first did;
//  - destroy-instance.yml refuses an instance whose queue holds mail and says
//    so, touching nothing; once the queue is empty it destroys the instance;
//    a second run changes nothing and says so.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jsonOf } from "../../support/cli.js";
import { startLab, type Lab, type TestLabHost } from "../../support/lab.js";
import { postfixState } from "../../support/postfix-state.js";
import { explain, hostOutcomes, outcomeOf, PLAYBOOKS, runningInstances, runPlaybook, type PlaybookDocument } from "../../support/playbook.js";

const RELOAD = join(PLAYBOOKS, "reload-group.yml");
const DESTROY = join(PLAYBOOKS, "destroy-instance.yml");

/** Each instance's master PID ("postfix", "postfix-out", ...). */
async function masterPids(h: TestLabHost): Promise<Record<string, string>> {
  const r = await h.exec("for d in /var/spool/postfix*; do echo \"$(basename $d) $(tr -d ' ' < $d/pid/master.pid 2>/dev/null)\"; done");
  return Object.fromEntries(r.stdout.trim().split("\n").map((l) => l.split(" ") as [string, string]));
}

/** postconf -n / -M and postmulti -l of every instance (the configuration, not file times). */
async function configOf(h: TestLabHost): Promise<string> {
  return (await postfixState(h)).split("\n").filter((l) => !l.startsWith("/")).join("\n");
}

describe("reload-group.yml and destroy-instance.yml on 2 hosts", { timeout: 480_000 }, () => {
  let lab: Lab;
  let mta01: TestLabHost;

  beforeAll(async () => {
    lab = await startLab(2);
    mta01 = lab.hosts[0]!;
    const r = await runPlaybook(lab, join(PLAYBOOKS, "create-instances.yml"), ["--json"]);
    expect(r.exitCode, explain(r)).toBe(0);
  }, 600_000);
  afterAll(async () => {
    await lab?.stop();
  });

  it("reload-group.yml -e group=mta: the group's instances reloaded in order, gated, masters kept; twice, same result", async () => {
    const pidsBefore = await Promise.all(lab.hosts.map(masterPids));
    const configBefore = await Promise.all(lab.hosts.map(configOf));
    const docs: PlaybookDocument[] = [];
    for (let i = 0; i < 2; i++) {
      const r = await runPlaybook(lab, RELOAD, ["--json", "-e", "group=mta"]);
      expect(r.exitCode, explain(r)).toBe(0);
      docs.push(jsonOf(r));
    }
    for (const doc of docs) {
      expect(doc.plays[0]!.batches.map((b) => b.hosts.map((h) => h.host))).toEqual([["mta01"], ["mta02"]]);
      for (const h of hostOutcomes(doc)) {
        const step = h.steps[0]!;
        // The primary is not in group mta: not touched.
        expect(step.instances.map((i) => `${i.instance} ${i.action}`), h.host).toEqual([
          expect.stringMatching(/^postfix-out reloaded, healthy after /),
          expect.stringMatching(/^postfix-in reloaded, healthy after /),
        ]);
        for (const i of step.instances) expect(i.health?.every((c) => c.ok), `${h.host} ${i.instance}`).toBe(true);
      }
    }
    // Same statuses both times; nothing in the configuration changed; no master was restarted.
    expect(hostOutcomes(docs[1]!).map((h) => h.steps.map((s) => s.instances.map((i) => i.status)))).toEqual(
      hostOutcomes(docs[0]!).map((h) => h.steps.map((s) => s.instances.map((i) => i.status))),
    );
    expect(await Promise.all(lab.hosts.map(configOf))).toEqual(configBefore);
    expect(await Promise.all(lab.hosts.map(masterPids))).toEqual(pidsBefore);
  });

  it("destroy-instance.yml refuses postfix-in while its queue holds mail, says so, and leaves it as it was", async () => {
    // A message that cannot be delivered (its content filter does not listen) stays in postfix-in's queue.
    const q = await mta01.exec(["sh", "-c", "printf 'Subject: t\\n\\nhello\\n' | MAIL_CONFIG=/etc/postfix-in sendmail -f root postmaster@example.org"]);
    expect(q.exitCode, q.stderr).toBe(0);
    const mailq = async () => (await mta01.exec(["sh", "-c", "MAIL_CONFIG=/etc/postfix-in postqueue -j"])).stdout.trim();
    for (let i = 0; i < 50 && !(await mailq()); i++) await new Promise((r) => setTimeout(r, 200));
    expect(await mailq()).not.toBe("");
    const before = await runningInstances(mta01);
    const r = await runPlaybook(lab, DESTROY, ["--json", "-e", "instance=postfix-in"]);
    const doc: PlaybookDocument = jsonOf(r);
    expect(r.exitCode, explain(r)).toBe(2);
    const h = outcomeOf(doc, "mta01");
    expect(h.status).toBe("failed");
    expect(h.error).toMatch(/postfix-in is not destroyed: its queue still holds 1 message .*deliver or move the mail first/);
    // Still there, and in the state it was in before the run.
    expect((await mta01.exec("postmulti -l")).stdout).toMatch(/^postfix-in\s+mta\s+y\s+\/etc\/postfix-in$/m);
    expect(await runningInstances(mta01)).toEqual(before);
    // max_fail 1: mta02 never attempted.
    expect(outcomeOf(doc, "mta02")).toMatchObject({ status: "skipped" });
    expect((await lab.hosts[1]!.exec("postmulti -l")).stdout).toMatch(/^postfix-in\s/m);
  });

  it("with the queue empty it destroys postfix-in everywhere; a second run changes nothing and says so", async () => {
    const d = await mta01.exec(["sh", "-c", "MAIL_CONFIG=/etc/postfix-in postsuper -d ALL"]);
    expect(d.exitCode, d.stderr).toBe(0);
    const r = await runPlaybook(lab, DESTROY, ["--json", "-e", "instance=postfix-in"]);
    expect(r.exitCode, explain(r)).toBe(0);
    const doc: PlaybookDocument = jsonOf(r);
    expect(doc.summary).toMatchObject({ changed: 2, failed: 0 });
    for (const host of lab.hosts) {
      expect((await host.exec("postmulti -l")).stdout, host.name).not.toMatch(/postfix-in/);
      expect((await host.exec(["test", "-e", "/etc/postfix-in"])).exitCode, host.name).not.toBe(0);
      expect(await runningInstances(host), host.name).toEqual({ "-": true, "postfix-out": true });
    }
    const configBefore = await Promise.all(lab.hosts.map(configOf));
    const again = await runPlaybook(lab, DESTROY, ["--json", "-e", "instance=postfix-in"]);
    expect(again.exitCode, explain(again)).toBe(0);
    const doc2: PlaybookDocument = jsonOf(again);
    expect(doc2.summary).toMatchObject({ ok: 2, changed: 0, failed: 0 });
    for (const h of hostOutcomes(doc2))
      for (const s of h.steps) for (const i of s.instances) expect(`${h.host} ${i.instance} ${i.status} ${i.action}`).toMatch(/ ok unchanged \(absent\)$/);
    expect(await Promise.all(lab.hosts.map(configOf))).toEqual(configBefore);
    const text = await runPlaybook(lab, DESTROY, ["-e", "instance=postfix-in"]);
    expect(text.stdout).toMatch(/^mta01, mta02 \(2 hosts\) : ok=\d+ {2}changed=0 {2}failed=0/m);
  });
});
