// The failure budget on 6 real lab hosts, with failures injected on chosen
// hosts: a primary whose main.cf is broken (`postfix start` refuses it), and a
// host whose container is killed mid-run (unreachable).
//  - max_fail counts across batches and stops the play when REACHED: no new
//    batch, the hosts in flight finish their current step and stop, the hosts
//    never attempted are skipped with "failure budget spent"; exit 2;
//  - max_fail_per_batch: the play stops after a batch whose failures EXCEED it;
//  - the retry file lists failed, unreachable, stopped-early and never-attempted
//    hosts, and `-l @FILE` reruns exactly them.
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { jsonOf } from "../../support/cli.js";
import { startLab, type Lab, type TestLabHost } from "../../support/lab.js";
import { explain, masterRunning, hostOutcomes, outcomeOf, runPlaybook, startPlaybook, until, writePlaybook, type PlaybookDocument, type RunningPlaybook } from "../../support/playbook.js";

const execFileP = promisify(execFile);

// Step 1 holds the hosts named by `hold` until /tmp/go exists (so that the test decides when
// they finish it); step 2 starts the primary (health-gated); step 3 leaves a mark.
const steps = `  steps:
    - name: hold
      instances: ["-"]
      run:
        shell: true
        argv: >-
          touch /tmp/step1;
          case {{ inventory_hostname }} in {{ hold }}) touch /tmp/holding;
          i=0; while [ ! -e /tmp/go ] && [ $i -lt 3000 ]; do sleep 0.1; i=$((i+1)); done;; esac
    - name: start the primary
      instances: ["-"]
      start:
        healthy_timeout: 20s
    - name: mark
      instances: ["-"]
      run: ["touch", "/tmp/marker"]
`;
const ACROSS = writePlaybook("across.yml", `- name: budget across batches\n  hosts: all\n  serial: 2\n  max_fail: 2\n  vars: {hold: none}\n${steps}`);
const PER_BATCH = writePlaybook("per-batch.yml", `- name: budget per batch\n  hosts: all\n  serial: 2\n  max_fail_per_batch: 1\n  vars: {hold: none}\n${steps}`);

const BUDGET = /failure budget spent/;

describe("failure budget on 6 hosts", { timeout: 480_000 }, () => {
  let lab: Lab;
  const host = (name: string): TestLabHost => lab.hosts.find((h) => h.name === name)!;
  const exists = async (h: string, path: string) => (await host(h).exec(["test", "-e", path])).exitCode === 0;
  const running = (h: string) => masterRunning(host(h));
  async function breakPrimary(...names: string[]) {
    for (const n of names) await host(n).exec("postconf -e default_process_limit=broken");
  }

  beforeAll(async () => {
    lab = await startLab(6);
  }, 600_000);
  afterAll(async () => {
    await lab?.stop();
  });
  // A run a failed test left behind must not touch the hosts of the next test.
  let current: RunningPlaybook | undefined;
  const start = (...a: Parameters<typeof startPlaybook>) => (current = startPlaybook(...a));
  afterEach(async () => {
    current?.signal("SIGKILL");
    await current?.done;
    current = undefined;
  });
  beforeEach(async () => {
    // Every scenario starts from stopped primaries with a good main.cf and no marks.
    await Promise.all(
      lab.hosts.map((h) => h.exec("postconf -e default_process_limit=100; postfix stop >/dev/null 2>&1; rm -f /tmp/go /tmp/step1 /tmp/holding /tmp/marker; true").catch(() => undefined)),
    );
  });

  it("max_fail: 2 counts across batches; reached in batch 2, the host in flight stops after its current step, batch 3 never starts; exit 2", async () => {
    await breakPrimary("mta01", "mta04");
    const retry = join(tmpdir(), `pf-retry-${process.pid}-a`);
    // mta03 holds in step 1 until mta04 (same batch) has failed: it is in flight when the budget is reached.
    const run = start(lab, ACROSS, ["-e", "hold=mta03", "--retry-file", retry]);
    await run.waitFor(/^mta04 \| FAILED/m);
    await host("mta03").exec(["touch", "/tmp/go"]);
    const r = await run.done;
    expect(r.exitCode, explain(r)).toBe(2);
    const out = r.stdout;
    // Batches 1 and 2 ran, batch 3 did not.
    expect(out.match(/^BATCH .*$/gm)).toEqual(["BATCH 1/3 (2 hosts): mta01, mta02", "BATCH 2/3 (2 hosts): mta03, mta04"]);
    expect(out).toMatch(/^mta01 \| FAILED: step 2 \(start the primary\)/m);
    expect(out).toMatch(/^mta02 \| CHANGED/m);
    // mta03 finished the step it was in (hold), then stopped: start and mark skipped for the budget.
    expect(out).toMatch(/^mta03 \| OK \| stopped before its last step: failure budget spent \(2 of 2 failed\)/m);
    expect(out).toMatch(/^ {2}\[skipped\] start the primary \(failure budget spent \(2 of 2 failed\)\)$/m);
    expect(out).toMatch(/PLAY \[budget across batches\] stopped: failure budget spent: 2 hosts failed or unreachable, budget 2/);
    // Recap: never-attempted hosts say why, folded into one line; the failed hosts keep a line each.
    expect(out).toMatch(/^mta05, mta06 \(2 hosts\) : ok=0 {2}changed=0 {2}failed=0 {2}unreachable=0 {2}skipped=0 {2}\(not attempted: failure budget spent/m);
    for (const h of ["mta01", "mta04"]) expect(out).toMatch(new RegExp(`^${h} +: ok=\\d+ {2}changed=\\d+ {2}failed=1 `, "m"));
    expect(out).toMatch(/failures 2\/2; stopped: failure budget spent/);

    // On the hosts: what each got to.
    expect(await running("mta02")).toBe(true);
    expect(await exists("mta02", "/tmp/marker")).toBe(true);
    expect(await exists("mta03", "/tmp/step1")).toBe(true);
    expect(await running("mta03")).toBe(false);
    expect(await exists("mta03", "/tmp/marker")).toBe(false);
    for (const h of ["mta01", "mta04"]) expect(await running(h), h).toBe(false);
    for (const h of ["mta05", "mta06"]) {
      // Never attempted: not even connected to (no agent pushed), nothing run.
      expect(await exists(h, "/root/.cache/postfleet"), h).toBe(false);
      expect(await exists(h, "/tmp/step1"), h).toBe(false);
      expect(await running(h), h).toBe(false);
    }
    // The retry file: failed, stopped early, never attempted, in run order.
    expect(readFileSync(retry, "utf8")).toBe("mta01\nmta03\nmta04\nmta05\nmta06\n");
    expect(r.stderr).toContain(`5 host(s) to retry written to ${retry}`);
  });

  it("max_fail_per_batch: 1: one failure in batch 1 goes on, two in batch 2 (exceeding it) stop the play; JSON says why", async () => {
    await breakPrimary("mta01", "mta03", "mta04");
    const r = await runPlaybook(lab, PER_BATCH, ["--json"]);
    const doc: PlaybookDocument = jsonOf(r);
    expect(r.exitCode, explain(r)).toBe(2);
    const play = doc.plays[0]!;
    expect(play.stopped).toBe("2 of 2 hosts failed in batch 2, more than max_fail_per_batch allows (1)");
    expect(play.maxFail).toBeUndefined();
    expect(play.failures).toBe(3);
    expect(play.batches.map((b) => b.hosts.map((h) => `${h.host} ${h.status}`))).toEqual([
      ["mta01 failed", "mta02 changed"],
      ["mta03 failed", "mta04 failed"],
      ["mta05 skipped", "mta06 skipped"],
    ]);
    for (const h of ["mta05", "mta06"]) {
      expect(outcomeOf(doc, h).error).toBe(play.stopped);
      expect(outcomeOf(doc, h).startedAt).toBeUndefined();
    }
    const mta01 = outcomeOf(doc, "mta01");
    expect(mta01.steps.map((s) => `${s.name} ${s.status}`)).toEqual(["hold ok", "start the primary failed", "mark skipped"]);
    expect(mta01.steps[1]!.instances[0]).toMatchObject({ instance: "-", status: "failed", action: "start failed" });
    expect(mta01.steps[2]!.skipped).toBe("an earlier step failed (start the primary)");
    expect(doc.summary).toEqual({ ok: 0, changed: 1, failed: 3, unreachable: 0, skipped: 2 });
    expect(doc.retryHosts).toEqual(["mta01", "mta03", "mta04", "mta05", "mta06"]);
    expect(doc.aborted).toBe(false);
    // Top-level hosts (the shape of every command's --json) agree.
    expect(doc.hosts.map((h) => `${h.host} ${h.status}`)).toEqual(["mta01 failed", "mta02 changed", "mta03 failed", "mta04 failed", "mta05 skipped", "mta06 skipped"]);
  });

  it("an unreachable host (container killed mid-step) counts against max_fail; the retry file lists it and the never-attempted; -l @FILE reruns exactly them", async () => {
    await breakPrimary("mta02");
    const dir = join(tmpdir(), `pf-retry-${process.pid}-c`);
    const retry = `${dir}.retry`;
    const run = start(lab, ACROSS, ["--json", "-e", "hold=mta04", "--retry-file", retry]);
    // mta04 is holding in step 1 and mta03 has done all its steps: kill mta04's container.
    await until(async () => (await exists("mta04", "/tmp/holding")) && (await exists("mta03", "/tmp/marker")), "mta04 holding, mta03 done", 300_000);
    await execFileP("docker", ["kill", host("mta04").containerId]);
    const r = await run.done;
    const doc: PlaybookDocument = jsonOf(r);
    expect(r.exitCode, explain(r)).toBe(2);
    const play = doc.plays[0]!;
    expect(play.failures).toBe(2);
    expect(play.stopped).toMatch(BUDGET);
    expect(hostOutcomes(doc).map((h) => `${h.host} ${h.status}`)).toEqual(["mta01 changed", "mta02 failed", "mta03 changed", "mta04 unreachable", "mta05 skipped", "mta06 skipped"]);
    expect(outcomeOf(doc, "mta05").error).toMatch(BUDGET);
    expect(outcomeOf(doc, "mta04").error).toBeTruthy();
    expect(readFileSync(retry, "utf8")).toBe("mta02\nmta04\nmta05\nmta06\n");

    // Fix mta02 and rerun exactly the retry list; --retry writes PLAYBOOK.retry beside the playbook.
    await host("mta02").exec("postconf -e default_process_limit=100");
    const again = await runPlaybook(lab, ACROSS, ["--json", "-l", `@${retry}`, "--retry"]);
    const doc2: PlaybookDocument = jsonOf(again);
    expect(doc2.hosts.map((h) => h.host)).toEqual(["mta02", "mta04", "mta05", "mta06"]);
    // mta04 is gone: unreachable (exit 3 since nothing failed); the others did everything.
    expect(again.exitCode, explain(again)).toBe(3);
    expect(doc2.hosts.map((h) => `${h.host} ${h.status}`)).toEqual(["mta02 changed", "mta04 unreachable", "mta05 changed", "mta06 changed"]);
    const beside = ACROSS.replace(/\.yml$/, ".retry");
    expect(readFileSync(beside, "utf8")).toBe("mta04\n");
    for (const h of ["mta02", "mta05", "mta06"]) expect(await running(h), h).toBe(true);
    expect(existsSync(retry)).toBe(true);
  });
});
