// Queue gates, soaks and deadlines on `--mail-flow` lab hosts (postfix-in :25
// → postfix-filter :10025 → postfix-out :10026 → smtp-sink :2525), one lab of
// two hosts for the file:
// - a start of postfix-out on a backlog of 3 messages, gated on no deferred
//   growth: passes where the sink answers, fails naming the growth on the host
//   whose postfix-out relays to a closed port;
// - a soak that fails when the filter's master is stopped during it;
// - a progress_deadline that stops a play before its second batch.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { QueueRequest, QueueResponse } from "../../../src/protocol/index.js";
import { installAgent, serveOnce } from "../../support/agent-on-host.js";
import { jsonOf } from "../../support/cli.js";
import { startLab, type Lab, type TestLabHost } from "../../support/lab.js";
import { explain, outcomeOf, runPlaybook, writePlaybook } from "../../support/playbook.js";

const INSTANCE_DIRS = "/etc/postfix /etc/postfix-in /etc/postfix-filter /etc/postfix-out";

const queueOf = (host: TestLabHost, req: Omit<QueueRequest, "id" | "op">) => serveOnce<QueueResponse>(host, { op: "queue", ...req });

/** Every queue of every instance emptied (what a case left behind must not reach the next). */
const emptyQueues = (host: TestLabHost) => host.exec(`for d in ${INSTANCE_DIRS}; do postsuper -c $d -d ALL >/dev/null 2>&1; done; true`);

const waitUntil = async (what: string, f: () => Promise<boolean>, ms = 60_000) => {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 200))) if (await f()) return;
  throw new Error(`timed out waiting for ${what}`);
};

describe("queue gates, soak and progress_deadline on --mail-flow lab hosts", { timeout: 300_000 }, () => {
  let lab: Lab;
  let ok: TestLabHost;
  let broken: TestLabHost;

  beforeAll(async () => {
    lab = await startLab(2, { mailFlow: true });
    [ok, broken] = lab.hosts as [TestLabHost, TestLabHost];
    await installAgent(ok);
  }, 300_000);
  afterAll(async () => {
    await lab?.stop();
  });

  it("a start gated on deferred growth: the host whose postfix-out relays to a closed port fails naming the growth, the healthy one passes", async () => {
    await broken.exec(["postconf", "-c", "/etc/postfix-out", "-e", "relayhost=[127.0.0.1]:2599"]);
    // A backlog: postfix-out stopped, 3 messages dropped into its maildrop through its own sendmail.
    for (const h of [ok, broken]) {
      const r = await h.exec(
        "postconf -c /etc/postfix-out -e authorized_submit_users=static:anyone && postmulti -i postfix-out -p stop && " +
          "for n in 1 2 3; do printf 'Subject: backlog %s\\n\\nx\\n' $n | sendmail -C /etc/postfix-out -f a@lab.test b@lab.test || exit 1; done",
      );
      expect(r.exitCode, r.stderr).toBe(0);
    }
    try {
      // The agent's queue request reads a stopped instance's queue too (postqueue -j, root: directly).
      const before = await queueOf(ok, { instance: "postfix-out" });
      expect(before.error).toBeUndefined();
      expect(before.counts).toEqual({ active: 0, incoming: 0, deferred: 0, hold: 0, maildrop: 3 });

      const pb = writePlaybook(
        "queue-gate.yml",
        `- name: queue-gated start
  hosts: all
  steps:
    - name: start postfix-out on its backlog
      instances: [postfix-out]
      start:
        gate:
          queue: {max_deferred_growth: 0, no_new_delay_reason: true}
          soak: 6s
          interval: 2s
          healthy_deadline: 10s
`,
      );
      const r = await runPlaybook(lab, pb, ["--json"]);
      expect(r.exitCode, explain(r)).not.toBe(0);
      const doc = jsonOf(r);
      const good = outcomeOf(doc, "mta01");
      expect(good.status, explain(r)).toBe("changed");
      const [gs] = good.steps as any[];
      expect(gs.instances.find((i: { instance: string }) => i.instance === "(gate)")).toMatchObject({ status: "ok", action: expect.stringMatching(/^held for the 6 s soak/) });
      expect(gs.instances.find((i: { action: string }) => i.action.startsWith("queue:")).action).toMatch(/^queue: active 0, incoming 0, deferred 0 \(\+0\), hold 0, maildrop 0$/);

      const bad = outcomeOf(doc, "mta02");
      expect(bad.status).toBe("failed");
      const [bs] = bad.steps as any[];
      expect(bs.status).toBe("failed");
      expect(bs.error).toMatch(/^\(gate\): gate did not hold within healthy_deadline 10 s .*queue of postfix-out: deferred grew by 3 \(0 before the step, 3 now\), more than max_deferred_growth 0/);
      expect(bs.error).toMatch(/queue of postfix-out: 1 new delay reason since before the step, with no_new_delay_reason set: "connect to 127\.0\.0\.1\[127\.0\.0\.1\]:2599: Connection refused"/);
      expect(r.stdout).toMatch(/deferred grew by 3/);
    } finally {
      await broken.exec(["postconf", "-c", "/etc/postfix-out", "-e", "relayhost=[127.0.0.1]:2525"]);
      for (const h of [ok, broken]) {
        await emptyQueues(h);
        await h.exec("postmulti -i postfix-out -p status >/dev/null 2>&1 && postmulti -i postfix-out -p reload || postmulti -i postfix-out -p start");
      }
    }
  });

  it("a soak fails when health flaps during it: the filter's master stopped mid-soak", async () => {
    await ok.exec(["rm", "-f", "/tmp/soak-go"]);
    const pb = writePlaybook(
      "soak.yml",
      `- name: soak
  hosts: mta01
  steps:
    - name: mark the start
      instances: [postfix-in]
      run: ["touch", "/tmp/soak-go"]
    - name: the chain holds for 20 s
      instances: [postfix-in, postfix-filter, postfix-out]
      wait: {master: true, smtp: true, soak: 20s, interval: 1s, healthy_deadline: 30s}
`,
    );
    const run = runPlaybook(lab, pb, ["--json"]);
    try {
      await waitUntil("the soak to start", async () => (await ok.exec(["test", "-e", "/tmp/soak-go"])).exitCode === 0);
      // 11 s in: the soak (20 s) is under way, and less of it than a whole soak is left before the deadline (30 s).
      await new Promise((r) => setTimeout(r, 11_000));
      expect((await ok.exec("postmulti -i postfix-filter -p stop")).exitCode).toBe(0);
      const r = await run;
      expect(r.exitCode, explain(r)).not.toBe(0);
      const h = outcomeOf(jsonOf(r), "mta01");
      expect(h.status).toBe("failed");
      const wait = (h.steps as any[])[1];
      expect(wait.error).toMatch(
        /^\(gate\): gate failed after holding \d+(\.\d+)? s of the 20 s soak: postfix-filter: (master|smtp): .*; the 20 s soak cannot complete within healthy_deadline 30 s$/,
      );
      // It failed at the flap, not at the deadline.
      expect(wait.durationMs).toBeLessThan(20_000);
    } finally {
      await run.catch(() => undefined);
      await ok.exec("postmulti -i postfix-filter -p start");
    }
  });

  it("progress_deadline: a batch still soaking when it passes stops the play; the next batch is not touched", async () => {
    await broken.exec(["rm", "-f", "/tmp/touched"]);
    const pb = writePlaybook(
      "deadline.yml",
      `- name: deadline
  hosts: all
  serial: 1
  progress_deadline: 3s
  steps:
    - name: mark the host
      instances: [postfix-in]
      run: ["touch", "/tmp/touched"]
    - name: held for 6 s
      instances: [postfix-in]
      wait: {master: true, soak: 6s, interval: 1s}
    - name: after the soak
      instances: [postfix-in]
      run: ["true"]
`,
    );
    const r = await runPlaybook(lab, pb, ["--json"]);
    expect(r.exitCode, explain(r)).not.toBe(0);
    const doc = jsonOf(r);
    expect(doc.plays[0].stopped).toBe("progress_deadline (3 s) passed before batch 1 (mta01) had finished");
    const first = outcomeOf(doc, "mta01");
    // In flight when the deadline passed: failed; its soak finished, the steps after it did not run.
    expect(first.status).toBe("failed");
    expect(first.error).toBe("not finished within the play's progress_deadline: progress_deadline (3 s) passed before batch 1 (mta01) had finished");
    expect((first.steps as any[]).map((s) => s.status)).toEqual(["ok", "ok", "skipped"]);
    const second = outcomeOf(doc, "mta02");
    expect(second.status).toBe("skipped");
    expect(second.error).toMatch(/progress_deadline/);
    expect((await broken.exec(["test", "-e", "/tmp/touched"])).exitCode).not.toBe(0);
  });
});
