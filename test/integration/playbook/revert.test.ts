// on_gate_failure: revert, the canary stage and the shipped mail-flow
// playbooks on one `--mail-flow` lab of six hosts, started in parallel
// (postfix-in :25 → postfix-filter :10025 → postfix-out :10026 → smtp-sink :2525):
// - config-rollout.yml with postfix-out's relayhost on a closed port: the
//   canary's probe fails, its main.cf and master.cf are put back byte for
//   byte (sha256 before = after), reloaded once, the gate holds again, the
//   host is reported reverted; the canary stage failed, so the play stops
//   there (the other hosts are not touched); the controller keeps its copy
//   beside the run's journal, which records the stage;
// - the same playbook with a harmless setting (on two hosts): the canary
//   first, promoted, then the other host;
// - a run killed once the canary's files are restored (before its reload)
//   is finished by `postfleet resume`: reload, gate again, reverted;
// - rolling-restart.yml -e probe=true on the six hosts (batches of one): the
//   hosts before pass their probe across every hop, the third, whose filter
//   is stopped (and disabled, so the restart of the enabled instances does
//   not bring it back), fails naming the refused hop, the 5% budget stops the
//   roll-out there, and no later host is touched (its masters' PIDs and its
//   Postfix log unchanged).
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runsDir } from "../../../src/orchestrator/journal/store.js";
import { jsonOf, postfleet, spawnCli } from "../../support/cli.js";
import { startLab, type Lab, type TestLabHost } from "../../support/lab.js";
import { explain, outcomeOf, PLAYBOOKS, runPlaybook, until } from "../../support/playbook.js";

const ROLLOUT = join(PLAYBOOKS, "config-rollout.yml");
const RESTART = join(PLAYBOOKS, "rolling-restart.yml");
/** A short gate for the lab: a 2 s soak (the canary's too) checked every second, 30 s to hold (a probe takes 1-10 s on a busy machine). */
const FAST_GATE = ["-e", "soak=2s", "-e", "canary_soak=2s", "-e", "interval=1s", "-e", "healthy_deadline=30s", "-e", "probe_max_latency=15s"];

/** sha256 of postfix-out's main.cf and master.cf, and its relayhost. */
async function outFiles(h: TestLabHost): Promise<string> {
  const r = await h.exec("sha256sum /etc/postfix-out/main.cf /etc/postfix-out/master.cf && postconf -c /etc/postfix-out -h relayhost");
  expect(r.exitCode, r.stderr).toBe(0);
  return r.stdout;
}

/** postfix-out's master reloads in the host's Postfix log ("reload -- version ..."). */
async function outReloads(h: TestLabHost): Promise<number> {
  return Number((await h.exec(["sh", "-c", "grep -c 'postfix-out/master\\[[0-9]*\\]: reload' /var/log/postfix.log || true"])).stdout.trim());
}

/** The masters' PIDs of every instance, and the Postfix log's length: a host nobody touched keeps both. */
async function untouched(h: TestLabHost): Promise<string> {
  const r = await h.exec("for d in postfix postfix-in postfix-filter postfix-out; do echo $d $(cat /var/spool/$d/pid/master.pid); done; wc -l < /var/log/postfix.log");
  expect(r.exitCode, r.stderr).toBe(0);
  return r.stdout;
}

async function queued(h: TestLabHost): Promise<string> {
  return (await h.exec("for d in /etc/postfix /etc/postfix-in /etc/postfix-filter /etc/postfix-out; do postqueue -c $d -j; done")).stdout.trim();
}

describe("on_gate_failure: revert and the shipped mail-flow playbooks on --mail-flow lab hosts", { timeout: 300_000 }, () => {
  let lab: Lab;
  let canary: TestLabHost;
  let other: TestLabHost;

  beforeAll(async () => {
    lab = await startLab(6, { mailFlow: true });
    [canary, other] = lab.hosts as [TestLabHost, TestLabHost];
  }, 600_000);
  afterAll(async () => {
    await lab?.stop();
  });

  it("config-rollout.yml: a relayhost on a closed port fails the canary's probe, its files are put back byte for byte, the host is reported reverted, the other host is untouched", async () => {
    const before = [await outFiles(canary), await outFiles(other)];
    expect(before[0]).toMatch(/\[127\.0\.0\.1\]:2525\n$/);
    const reloads = await outReloads(canary);
    // One run: its human output, and its --json document as the journal's run_end keeps it.
    const r = await runPlaybook(lab, ROLLOUT, ["-e", "instance=postfix-out", "-e", '{"main_cf": {"relayhost": "[127.0.0.1]:2599"}}', ...FAST_GATE]);
    expect(r.exitCode, explain(r)).toBe(2);
    expect(r.stdout).toMatch(/^mta01 \| FAILED \(REVERTED\): step 2/m);
    expect(r.stdout).toMatch(/^mta01 +: .*\(reverted\)$/m);
    expect(r.stdout).toMatch(/^CANARY BATCH 1\/6 \(1 host\): mta01$/m);
    expect(r.stdout).toMatch(/^CANARY FAILED: canary stage failed on mta01 \(1 of 1 canary host\): not promoted, the other 5 hosts untouched$/m);
    expect(r.stdout).toMatch(/^play .*; failures 1\/1; canary mta01: failed; stopped: canary stage failed on mta01/m);
    const runs = runsDir({ ...process.env, HOME: join(lab.dir, "home") });
    const run = readdirSync(runs).sort().at(-1)!;
    const records = readFileSync(join(runs, run, "journal.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    const doc = records.find((x) => x.type === "run_end").document;
    const c = outcomeOf(doc, "mta01");
    expect(c.status, explain(r)).toBe("failed");
    expect(c.reverted, explain(r)).toBe(true);
    // The run's host list says it too, not only the play's outcome.
    expect(doc.hosts.find((h: any) => h.host === "mta01")).toMatchObject({ status: "failed", reverted: true });
    expect(doc.hosts.find((h: any) => h.host === "mta02").reverted).toBeUndefined();
    const [apply, reload, revert] = c.steps as any[];
    expect(apply).toMatchObject({ type: "postconf", status: "changed" });
    expect(reload.status).toBe("failed");
    expect(reload.error).toMatch(/connect to 127\.0\.0\.1\[127\.0\.0\.1\]:2599: Connection refused/);
    expect(revert).toMatchObject({ type: "revert", status: "changed" });
    expect(revert.instances[0]).toMatchObject({ instance: "postfix-out", status: "changed", action: expect.stringMatching(/^restored main\.cf as before step 1/) });
    expect(revert.instances.some((i: { action: string }) => /^gate again: held for the 2 s soak/.test(i.action))).toBe(true);
    // Byte-identical, and the host keeps no copy once its work is over.
    expect(await outFiles(canary)).toBe(before[0]);
    expect((await canary.exec(["test", "-e", "/etc/postfix-out/.postfleet-revert"])).exitCode).not.toBe(0);
    // Reloaded once after the restore (the reload step's own reload before it): not once more by the gate run again.
    expect(await outReloads(canary)).toBe(reloads + 2);
    // The canary stage failed: the play stops there, whatever the budget; the other hosts are never reached.
    for (const h of ["mta02", "mta03", "mta04", "mta05", "mta06"]) expect(outcomeOf(doc, h)).toMatchObject({ status: "skipped", stage: "rollout" });
    expect(c.stage).toBe("canary");
    expect(await outFiles(other)).toBe(before[1]);
    expect(doc.plays[0].stopped).toBe("canary stage failed on mta01 (1 of 1 canary host): not promoted, the other 5 hosts untouched");
    expect(doc.plays[0].stages[0]).toMatchObject({ stage: "canary", hosts: ["mta01"], batches: [0], promote: "auto", soakMs: 2000, outcome: "failed" });
    expect(records.find((x) => x.type === "run_start").plan.plays[0].canary).toEqual({ hosts: ["mta01"], promote: "auto", soakMs: 2000 });
    expect(records.find((x) => x.type === "batch_start" && x.batch === 0)).toMatchObject({ hosts: ["mta01"], stage: "canary" });
    expect(records.find((x) => x.type === "stage")).toMatchObject({ play: 0, stage: "canary", outcome: "failed" });
    expect(records.some((x) => x.type === "batch_start" && x.batch > 0)).toBe(false);
    // The controller's copy beside the run's journal (0600), byte for byte what the host had, and the journal's records.
    const copy = join(runs, run, "revert", "mta01", "postfix-out");
    const sums = before[0]!.split("\n").slice(0, 2).map((l) => l.split(/\s+/)[0]);
    for (const [k, f] of ["main.cf", "master.cf"].entries()) {
      expect(statSync(join(copy, f)).mode & 0o777).toBe(0o600);
      expect(createHash("sha256").update(readFileSync(join(copy, f))).digest("hex")).toBe(sums[k]);
    }
    expect(records.find((x) => x.type === "revert_snapshot")).toMatchObject({ host: "mta01", instance: "postfix-out", sha256: { "main.cf": sums[0], "master.cf": sums[1] } });
    const states = records.filter((x) => x.type === "instance" && x.host === "mta01" && x.instance === "postfix-out").map((x) => x.state);
    expect(states).toEqual(expect.arrayContaining(["revert_snapshot", "reverting", "restored", "reverted"]));
    expect(states.indexOf("restored")).toBeLessThan(states.indexOf("reverted"));
    expect(await queued(canary)).toBe("");
  });

  it("config-rollout.yml with a good setting: the canary first, its gates held for the canary soak, promoted, then the other host", async () => {
    const r = await runPlaybook(lab, ROLLOUT, ["--json", "-l", "mta01:mta02", "-e", "instance=postfix-out", "-e", '{"main_cf": {"smtp_connect_timeout": "25s"}}', ...FAST_GATE, "-e", "canary_soak=3s"]);
    try {
      expect(r.exitCode, explain(r)).toBe(0);
      const doc = jsonOf(r);
      for (const h of ["mta01", "mta02"]) {
        const o = outcomeOf(doc, h);
        expect(o.status, h).toBe("changed");
        expect(o.reverted).toBeUndefined();
        expect(o.steps.map((s: { type: string }) => s.type)).toEqual(["postconf", "reload"]);
      }
      const [c, o] = [outcomeOf(doc, "mta01"), outcomeOf(doc, "mta02")];
      expect([c.stage, o.stage]).toEqual(["canary", "rollout"]);
      expect(c.finishedAt! <= o.startedAt!, `${c.finishedAt} ${o.startedAt}`).toBe(true);
      // The canary's gate held for the canary soak (3 s), the other host's for the play's (2 s).
      const held = (h: any) => h.steps[1].instances.find((i: { instance: string }) => i.instance === "(gate)").action;
      expect(held(c)).toMatch(/^held for the 3 s soak/);
      expect(held(o)).toMatch(/^held for the 2 s soak/);
      expect(doc.plays[0].stages).toEqual([
        { stage: "canary", batches: [0], hosts: ["mta01"], promote: "auto", soakMs: 3000, outcome: "promoted", detail: "every canary host ended well, its gates held for 3 s: promoted automatically to the other 1 host" },
        { stage: "rollout", batches: [1], hosts: ["mta02"] },
      ]);
      for (const h of [canary, other]) expect((await h.exec("postconf -c /etc/postfix-out -h smtp_connect_timeout")).stdout.trim()).toBe("25s");
    } finally {
      for (const h of [canary, other]) await h.exec("postconf -c /etc/postfix-out -X smtp_connect_timeout && postmulti -i postfix-out -p reload");
    }
  });

  it("postfleet resume finishes a revert the run was killed in (after the restore): reloads, gates again, reports the host reverted", async () => {
    const before = await outFiles(canary);
    const env = { HOME: join(lab.dir, "home"), POSTFLEET_AGENT_PERSIST: "0" };
    const runs = runsDir({ ...process.env, ...env });
    const list = () => (existsSync(runs) ? readdirSync(runs) : []);
    const known = new Set(list());
    const child = spawnCli(["-i", lab.inventoryPath, "run", ROLLOUT, "-e", "instance=postfix-out", "-e", '{"main_cf": {"relayhost": "[127.0.0.1]:2599"}}', ...FAST_GATE], { env, ignoreOutput: true });
    const closed = new Promise((r) => child.on("close", r));
    const journal = () => {
      const id = list().find((n) => !known.has(n));
      return id ? readFileSync(join(runs, id, "journal.jsonl"), "utf8") : "";
    };
    await until(async () => journal().includes('"state":"restored"'), "the canary's files to be restored", 120_000);
    child.kill("SIGKILL");
    await closed;
    const r = await postfleet(["resume", "--json"], { env });
    expect(r.exitCode, explain(r)).toBe(2);
    const c = outcomeOf(jsonOf(r), "mta01");
    expect(c.reverted, explain(r)).toBe(true);
    expect(c.steps.find((s: { type: string }) => s.type === "revert")).toMatchObject({ status: "changed" });
    // After the resume record: the canary reloaded and gated again, then reverted.
    const text = journal();
    const after = text.slice(text.indexOf('"type":"resume"')).split("\n").filter(Boolean).map((l) => JSON.parse(l.startsWith("{") ? l : `{${l}`));
    const states = after.filter((x) => x.type === "instance" && x.host === "mta01" && x.instance === "postfix-out").map((x) => x.state);
    expect(states).toEqual(expect.arrayContaining(["reverting", "restored", "reloaded", "reverted"]));
    expect(states.indexOf("reloaded")).toBeGreaterThan(states.indexOf("restored"));
    expect(await outFiles(canary)).toBe(before);
    expect((await canary.exec(["test", "-e", "/etc/postfix-out/.postfleet-revert"])).exitCode).not.toBe(0);
  });

  it("rolling-restart.yml -e probe=true, filter stopped on one host of six: that host fails at the probe gate naming the refused hop, the budget stops the roll-out, no later host is touched", async () => {
    const bad = lab.hosts[2]!;
    const later = lab.hosts.slice(3);
    await bad.exec("postmulti -i postfix-filter -p stop && postmulti -i postfix-filter -e disable");
    try {
      const before = await Promise.all(later.map(untouched));
      const r = await runPlaybook(lab, RESTART, ["--json", "-e", "probe=true", "-e", "probe_timeout=5s"]);
      expect(r.exitCode, explain(r)).toBe(2);
      const doc = jsonOf(r);
      // serial [1, "10%", "25%"] of six hosts: batches of one; max_fail "5%": one host.
      expect(doc.plays[0].batches.map((b: { hosts: { host: string }[] }) => b.hosts.map((h) => h.host))).toEqual([["mta01"], ["mta02"], ["mta03"], ["mta04"], ["mta05"], ["mta06"]]);
      for (const h of ["mta01", "mta02"]) {
        const good = outcomeOf(doc, h);
        expect(good.status, h).toBe("changed");
        const wait = good.steps.find((s: { type: string }) => s.type === "wait") as any;
        expect(wait.status).toBe("ok");
        expect(wait.instances[0].action).toMatch(/^mail flows \(delivered\): postfix-in \d+ ms → postfix-filter \d+ ms → postfix-out \d+ ms → 127\.0\.0\.1\[127\.0\.0\.1\]:2525$/);
      }
      const failed = outcomeOf(doc, "mta03");
      expect(failed.status).toBe("failed");
      expect(failed.error).toMatch(/step 5 \(Mail flows end to end \(probe=true\)\): .*failed at postfix-in: deferred: .*connect to 127\.0\.0\.1\[127\.0\.0\.1\]:10025: Connection refused/);
      expect(doc.plays[0].stopped).toMatch(/^failure budget spent: 1 host failed or unreachable, budget 1$/);
      for (const h of ["mta04", "mta05", "mta06"]) expect(outcomeOf(doc, h)).toMatchObject({ status: "skipped", error: expect.stringMatching(/^failure budget spent/) });
      // Postfix's own word: the later hosts' masters were not restarted and their log did not move.
      expect(await Promise.all(later.map(untouched))).toEqual(before);
      expect(await queued(bad)).toBe("");
    } finally {
      await bad.exec("postmulti -i postfix-filter -e enable && postmulti -i postfix-filter -p start");
    }
  });
});
