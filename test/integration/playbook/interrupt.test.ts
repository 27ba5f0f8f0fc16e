// Ctrl-C (SIGINT) at several points of a real run on 4 lab hosts (two
// instances each: the primary and a created postfix-x):
//  - during a batch: the host in flight finishes its current instance
//    operation, starts no other (neither instance nor step), the next batch
//    never starts; exit 4; --json says every host's state;
//  - between batches, during pause_between_batches: the pause is cut short, no
//    host of the next batch is touched; the human report says so;
//  - a second Ctrl-C quits at once and names the hosts that may be mid-operation.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { jsonOf } from "../../support/cli.js";
import { startLab, type Lab, type TestLabHost } from "../../support/lab.js";
import { explain, masterRunning, outcomeOf, startPlaybook, until, writePlaybook, type PlaybookDocument, type RunningPlaybook } from "../../support/playbook.js";

// Step 1 runs on every instance; on the primary of the host named by `hold` it waits for /tmp/go.
const steps = `  steps:
    - name: hold
      instances: all
      run:
        shell: true
        argv: >-
          touch /tmp/ran-$(basename $MAIL_CONFIG);
          case {{ inventory_hostname }}-$(basename $MAIL_CONFIG) in {{ hold }}-postfix) touch /tmp/holding;
          i=0; while [ ! -e /tmp/go ] && [ $i -lt 3000 ]; do sleep 0.1; i=$((i+1)); done;; esac
    - name: start the primary
      instances: ["-"]
      start:
        healthy_timeout: 20s
    - name: mark
      instances: ["-"]
      run: ["touch", "/tmp/marker"]
`;
const BATCHED = writePlaybook("batched.yml", `- name: interruptible\n  hosts: all\n  serial: 2\n  vars: {hold: none}\n${steps}`);
const PAUSED = writePlaybook("paused.yml", `- name: paused\n  hosts: all\n  serial: 2\n  pause_between_batches: 60s\n  vars: {hold: none}\n${steps}`);
const NOT_REACHED = "run aborted before this host was reached";

describe("Ctrl-C during a playbook run on 4 hosts", { timeout: 480_000 }, () => {
  let lab: Lab;
  const host = (name: string): TestLabHost => lab.hosts.find((h) => h.name === name)!;
  const exists = async (h: string, path: string) => (await host(h).exec(["test", "-e", path])).exitCode === 0;
  const running = (h: string) => masterRunning(host(h));

  beforeAll(async () => {
    lab = await startLab(4);
    await Promise.all(lab.hosts.map((h) => h.exec("postmulti -e init && postmulti -I postfix-x -e create")));
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
    await Promise.all(lab.hosts.map((h) => h.exec("postfix stop >/dev/null 2>&1; rm -f /tmp/go /tmp/holding /tmp/marker /tmp/ran-*; true")));
  });

  it("during a batch: the held host finishes the instance it is on and starts nothing else; batch 2 never starts; exit 4; --json is truthful", async () => {
    const run = start(lab, BATCHED, ["--json", "-e", "hold=mta01"]);
    // mta01 is holding on its primary; mta02 (same batch) has done everything.
    await until(async () => (await exists("mta01", "/tmp/holding")) && (await exists("mta02", "/tmp/marker")), "mta01 holding and mta02 done", 300_000);
    run.signal("SIGINT");
    await run.waitFor(/interrupted: finishing the work in progress/, { stream: "stderr" });
    await host("mta01").exec(["touch", "/tmp/go"]);
    const r = await run.done;
    expect(r.exitCode, explain(r)).toBe(4);
    const doc: PlaybookDocument = jsonOf(r);
    expect(doc.aborted).toBe(true);
    expect(doc.plays[0]!.stopped).toBe("interrupted");
    const mta01 = outcomeOf(doc, "mta01");
    expect(mta01.status).toBe("ok");
    expect(mta01.incomplete).toBe("interrupted");
    expect(mta01.message).toBe("stopped before its last step: interrupted");
    // The primary's command ran to its end; postfix-x's never started; later steps skipped.
    expect(mta01.steps.map((s) => `${s.name} ${s.status}`)).toEqual(["hold ok", "start the primary skipped", "mark skipped"]);
    expect(mta01.steps[0]!.instances.map((i) => `${i.instance} ${i.status} ${i.action}`)).toEqual(["- ok ran", "postfix-x skipped not run (interrupted)"]);
    expect(mta01.steps[1]!.skipped).toBe("interrupted");
    expect(outcomeOf(doc, "mta02").status).toBe("changed");
    for (const h of ["mta03", "mta04"]) expect(outcomeOf(doc, h)).toMatchObject({ status: "skipped", error: NOT_REACHED });
    expect(doc.summary).toEqual({ ok: 1, changed: 1, failed: 0, unreachable: 0, skipped: 2 });
    expect(doc.retryHosts).toEqual(["mta01", "mta03", "mta04"]);
    // The hosts agree.
    expect(await exists("mta01", "/tmp/ran-postfix")).toBe(true);
    expect(await exists("mta01", "/tmp/ran-postfix-x")).toBe(false);
    expect(await running("mta01")).toBe(false);
    expect(await exists("mta01", "/tmp/marker")).toBe(false);
    expect(await running("mta02")).toBe(true);
    for (const h of ["mta03", "mta04"]) {
      expect(await exists(h, "/tmp/ran-postfix"), h).toBe(false);
      expect(await running(h), h).toBe(false);
    }
  });

  it("between batches, during pause_between_batches: the pause ends at once, batch 2 is never touched; the human report says so", async () => {
    const run = start(lab, PAUSED);
    // The batch's hosts, folded by outcome when the batch ends.
    await run.waitFor(/^mta01, mta02 \(2 hosts\) \| CHANGED/m);
    // Both hosts of batch 1 are done: the run is now in its 60 s pause.
    await new Promise((r) => setTimeout(r, 1000));
    const at = Date.now();
    run.signal("SIGINT");
    const r = await run.done;
    expect(Date.now() - at).toBeLessThan(20_000);
    expect(r.exitCode, explain(r)).toBe(4);
    expect(r.stdout.match(/^BATCH .*$/gm)).toEqual(["BATCH 1/2 (2 hosts): mta01, mta02"]);
    expect(r.stdout).toMatch(/^PLAY \[paused\] stopped: interrupted$/m);
    // The recap folds hosts with the same line.
    expect(r.stdout).toMatch(/^mta01, mta02 \(2 hosts\) : ok=2  changed=1  failed=0  unreachable=0  skipped=0$/m);
    expect(r.stdout).toMatch(new RegExp(`^mta03, mta04 \\(2 hosts\\) : ok=0 .*\\(not attempted: ${NOT_REACHED}\\)$`, "m"));
    expect(r.stdout).toMatch(/^run interrupted$/m);
    for (const h of ["mta03", "mta04"]) expect(await exists(h, "/tmp/ran-postfix"), h).toBe(false);
  });

  it("a second Ctrl-C quits at once, naming the hosts that may be mid-operation and what they were doing", async () => {
    const run = start(lab, BATCHED, ["--json", "-e", "hold=mta01"]);
    await until(async () => (await exists("mta01", "/tmp/holding")) && (await exists("mta02", "/tmp/marker")), "mta01 holding and mta02 done", 300_000);
    run.signal("SIGINT");
    await run.waitFor(/interrupted: finishing the work in progress/, { stream: "stderr" });
    const at = Date.now();
    run.signal("SIGINT");
    const r = await run.done;
    expect(Date.now() - at).toBeLessThan(10_000);
    expect(r.exitCode).toBe(4);
    expect(r.stderr).toMatch(/quitting now; these hosts may be left mid-operation: mta01 \(run \/bin\/sh -c .* for -\)\n/);
    expect(r.stderr).not.toMatch(/mid-operation:.*mta02/);
    // The held command was cancelled on the host (the agent stops what it ran).
    await until(async () => (await host("mta01").exec(["pgrep", "-f", "holding"])).exitCode !== 0, "the held command to be gone", 20_000);
    expect(await exists("mta01", "/tmp/marker")).toBe(false);
  });
});
