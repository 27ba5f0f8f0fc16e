// on_gate_failure: revert and the shipped mail-flow playbooks on one
// `--mail-flow` lab of two hosts (postfix-in :25 → postfix-filter :10025 →
// postfix-out :10026 → smtp-sink :2525):
// - config-rollout.yml with postfix-out's relayhost on a closed port: the
//   canary's probe fails, its main.cf and master.cf are put back byte for
//   byte (sha256 before = after), reloaded, the gate holds again, the host is
//   reported reverted (failed for the budget: the play stops, the other host
//   is not touched); the controller keeps its copy beside the run's journal;
// - the same playbook with a harmless setting rolls out to both hosts;
// - a run killed once the canary's files are restored (before its reload)
//   is finished by `postfleet resume`: reload, gate again, reverted;
// - rolling-restart.yml -e probe=true: the healthy host passes its probe
//   across every hop, the host whose filter is stopped (and disabled, so the
//   restart of the enabled instances does not bring it back) fails naming
//   the refused hop.
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runsDir } from "../../../src/orchestrator/journal/store.js";
import { CLI, jsonOf, postfleet } from "../../support/cli.js";
import { startLab, type Lab, type TestLabHost } from "../../support/lab.js";
import { explain, outcomeOf, PLAYBOOKS, runPlaybook, until } from "../../support/playbook.js";

const ROLLOUT = join(PLAYBOOKS, "config-rollout.yml");
const RESTART = join(PLAYBOOKS, "rolling-restart.yml");
/** A short gate for the lab: a 2 s soak checked every second, 30 s to hold (a probe takes 1-10 s on a busy machine). */
const FAST_GATE = ["-e", "soak=2s", "-e", "interval=1s", "-e", "healthy_deadline=30s", "-e", "probe_max_latency=15s"];

/** sha256 of postfix-out's main.cf and master.cf, and its relayhost. */
async function outFiles(h: TestLabHost): Promise<string> {
  const r = await h.exec("sha256sum /etc/postfix-out/main.cf /etc/postfix-out/master.cf && postconf -c /etc/postfix-out -h relayhost");
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
    lab = await startLab(2, { mailFlow: true });
    [canary, other] = lab.hosts as [TestLabHost, TestLabHost];
  }, 300_000);
  afterAll(async () => {
    await lab?.stop();
  });

  it("config-rollout.yml: a relayhost on a closed port fails the canary's probe, its files are put back byte for byte, the host is reported reverted, the other host is untouched", async () => {
    const before = [await outFiles(canary), await outFiles(other)];
    expect(before[0]).toMatch(/\[127\.0\.0\.1\]:2525\n$/);
    // One run: its human output, and its --json document as the journal's run_end keeps it.
    const r = await runPlaybook(lab, ROLLOUT, ["-e", "instance=postfix-out", "-e", '{"main_cf": {"relayhost": "[127.0.0.1]:2599"}}', ...FAST_GATE]);
    expect(r.exitCode, explain(r)).toBe(2);
    expect(r.stdout).toMatch(/^mta01 \| FAILED \(REVERTED\): step 2/m);
    expect(r.stdout).toMatch(/^mta01 +: .*\(reverted\)$/m);
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
    // The budget (max_fail 1) stops the play: the other host is never reached.
    expect(outcomeOf(doc, "mta02").status).toBe("skipped");
    expect(await outFiles(other)).toBe(before[1]);
    expect(doc.plays[0].stopped).toMatch(/failure budget spent/);
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

  it("config-rollout.yml with a good setting rolls out to every host", async () => {
    const r = await runPlaybook(lab, ROLLOUT, ["--json", "-e", "instance=postfix-out", "-e", '{"main_cf": {"smtp_connect_timeout": "25s"}}', ...FAST_GATE]);
    try {
      expect(r.exitCode, explain(r)).toBe(0);
      const doc = jsonOf(r);
      for (const h of ["mta01", "mta02"]) {
        const o = outcomeOf(doc, h);
        expect(o.status, h).toBe("changed");
        expect(o.reverted).toBeUndefined();
        expect(o.steps.map((s: { type: string }) => s.type)).toEqual(["postconf", "reload"]);
      }
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
    const child = spawn(process.execPath, [CLI, "-i", lab.inventoryPath, "run", ROLLOUT, "-e", "instance=postfix-out", "-e", '{"main_cf": {"relayhost": "[127.0.0.1]:2599"}}', ...FAST_GATE], {
      env: { ...process.env, NO_COLOR: "1", ...env },
      stdio: "ignore",
    });
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

  it("rolling-restart.yml -e probe=true: the healthy host passes its probe across every hop; the host whose filter is stopped fails naming the refused hop", async () => {
    await other.exec("postmulti -i postfix-filter -p stop && postmulti -i postfix-filter -e disable");
    try {
      const r = await runPlaybook(lab, RESTART, ["--json", "-e", "probe=true", "-e", "probe_timeout=5s"]);
      expect(r.exitCode, explain(r)).toBe(2);
      const doc = jsonOf(r);
      const good = outcomeOf(doc, "mta01");
      expect(good.status).toBe("changed");
      const wait = good.steps.find((s: { type: string }) => s.type === "wait") as any;
      expect(wait.status).toBe("ok");
      expect(wait.instances[0].action).toMatch(/^mail flows \(delivered\): postfix-in \d+ ms → postfix-filter \d+ ms → postfix-out \d+ ms → 127\.0\.0\.1\[127\.0\.0\.1\]:2525$/);
      const bad = outcomeOf(doc, "mta02");
      expect(bad.status).toBe("failed");
      expect(bad.error).toMatch(/step 5 \(Mail flows end to end \(probe=true\)\): .*failed at postfix-in: deferred: .*connect to 127\.0\.0\.1\[127\.0\.0\.1\]:10025: Connection refused/);
      expect(await queued(other)).toBe("");
    } finally {
      await other.exec("postmulti -i postfix-filter -e enable && postmulti -i postfix-filter -p start");
    }
  });
});
