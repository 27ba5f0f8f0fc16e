// `postfleet resume` under faults: a rolling
// restart over 4 lab hosts (two enabled instances each), serial: 2, its
// controller SIGKILLed at each kind of transition (during a stop, between an
// instance's stop and its start, during a health gate, during a pause step,
// between batches), every kill followed by `postfleet resume` (a resume may
// itself be killed and resumed again): every enabled instance ends running
// and was started exactly once (the masters' "daemon started" lines in
// Postfix's own log), no host of batch k+1 was touched before batch k
// finished (journal order), the final document has an uninterrupted run's
// statuses. Then the budget carried over (and --reset-budget), a changed
// inventory refused (--force accepted, recorded) and two resumes at once (one
// refuses, no host's work done twice).
import { appendFileSync, copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunRecord } from "../../src/orchestrator/journal/records.js";
import { startLab, type Lab, type TestLabHost } from "../support/lab.js";
import { clearPostfixLog, postfixLogLines, runningInstances, writePlaybook, type PlaybookDocument } from "../support/playbook.js";
import { docOf, startController, type ControllerResult } from "../support/faults/controller.js";
import { recordCase } from "../support/faults/figures.js";

// The rolling restart: a pause step after the restart (a kill point), a pause between the batches (another).
const ROLLING = writePlaybook(
  "rolling.yml",
  `- name: Rolling restart
  hosts: all
  serial: 2
  max_fail: 2
  pause_between_batches: 1s
  steps:
    - name: restart
      instances: enabled
      restart:
        healthy_timeout: 45s
    - name: settle
      pause: 1s
`,
);

// A quick one for the budget and locking cases: each host notes that it ran (so work done twice shows) and fails where marked.
const NOTE = writePlaybook(
  "note.yml",
  `- name: Note
  hosts: all
  serial: 1
  max_fail: 2
  pause_between_batches: 1s
  steps:
    - name: note
      instances: ["-"]
      run:
        shell: true
        argv: "echo ran >> /tmp/resume-ran; test ! -e /run/resume-fail"
`,
);

// postfix-script held at its next `start` or `stop` (armed by /run/resume-hold: "start" or "stop"), so that a kill lands there.
const HOLD_TRAP = String.raw`#!/bin/sh
if [ -e /run/resume-hold ] && [ "$1" = "$(cat /run/resume-hold)" ] && mv /run/resume-hold /run/resume-hold.fired 2>/dev/null; then
  touch /run/resume-holding
  sleep 60
fi
exec /usr/lib/postfix/sbin/postfix-script.real "$@"
`;

type Doc = PlaybookDocument;

describe("postfleet resume under faults (4 lab hosts, two enabled instances each)", () => {
  let lab: Lab;
  let dir: string;

  beforeAll(async () => {
    lab = await startLab(4);
    dir = mkdtempSync(join(tmpdir(), "pf-resume-"));
    const script = "/usr/lib/postfix/sbin/postfix-script";
    await Promise.all(
      lab.hosts.map(async (h) => {
        await h.exec(
          "postmulti -e init && postmulti -I postfix-out -G mta -e create && postmulti -i postfix-out -e enable && postconf -c /etc/postfix-out -e maillog_file=/var/log/postfix.log && postmulti -p start",
        );
        await h.exec(`[ -e ${script}.real ] || cp -p ${script} ${script}.real`);
        await h.exec(["sh", "-c", `cat > ${script}.trap <<'EOF'\n${HOLD_TRAP}EOF\nchmod 755 ${script}.trap && mv ${script}.trap ${script}`]);
      }),
    );
  }, 240_000);
  afterAll(async () => {
    await lab?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const env = (state: string) => ({ HOME: join(lab.dir, "home"), XDG_STATE_HOME: state });
  const start = (state: string, args: string[], inv = lab.inventoryPath) => startController(["-i", inv, ...args], { env: env(state), limitMs: 150_000 });
  const resume = (state: string, args: string[] = []) => startController(["resume", "--json", ...args], { env: env(state), limitMs: 150_000 });
  const journalOf = (state: string) => {
    const runs = join(state, "postfleet", "runs");
    const ids = existsSync(runs) ? readdirSync(runs).filter((n) => /^\d{8}T/.test(n)) : [];
    return ids.length ? join(runs, ids[0]!, "journal.jsonl") : "";
  };
  const records = (state: string): RunRecord[] => {
    const j = journalOf(state);
    if (!j || !existsSync(j)) return [];
    const out: RunRecord[] = [];
    for (const l of readFileSync(j, "utf8").split("\n")) {
      try {
        if (l) out.push(JSON.parse(l) as RunRecord);
      } catch {
        break;
      }
    }
    return out;
  };
  /** Poll the journal (every 10 ms) until a record of part `part` (0: the run, k: after its k-th resume record) matches. */
  async function journalReaches(state: string, part: number, what: string, match: (r: RunRecord) => boolean, timeoutMs = 90_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const recs = records(state);
      const starts = recs.flatMap((r, i) => (r.type === "resume" ? [i] : []));
      const from = part === 0 ? 0 : starts[part - 1];
      const to = starts[part] ?? recs.length;
      if (from !== undefined && recs.slice(from, to).some(match)) return;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what} in the journal`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  const hold = (h: TestLabHost, at: "start" | "stop") => h.exec(`rm -f /run/resume-hold.fired /run/resume-holding; echo ${at} > /run/resume-hold`);
  const holding = async (h: TestLabHost) => (await h.exec("test -e /run/resume-holding")).exitCode === 0;
  const disarm = () => Promise.all(lab.hosts.map((h) => h.exec("rm -f /run/resume-hold /run/resume-hold.fired /run/resume-holding")));
  async function killed(c: ReturnType<typeof start>): Promise<ControllerResult> {
    c.signal("SIGKILL");
    const r = await c.done;
    expect(r.signal).toBe("SIGKILL");
    return r;
  }
  /** Each instance's master starts in Postfix's own log, per host. */
  const starts = async () =>
    Object.fromEntries(
      await Promise.all(
        lab.hosts.map(async (h) => {
          const lines = (await postfixLogLines(h)).filter((l) => /^postfix(-out)?\/master: daemon started/.test(l));
          return [h.name, { "-": lines.filter((l) => l.startsWith("postfix/")).length, "postfix-out": lines.filter((l) => l.startsWith("postfix-out/")).length }] as const;
        }),
      ),
    );
  const statuses = (d: Doc) =>
    d.plays.map((p) => p.batches.map((b) => b.hosts.map((h) => [h.host, h.status, h.steps.map((s) => [s.name, s.status, s.instances.map((i) => [i.instance, i.status])])])));
  /** No host_start of batch k+1 before the last host_end of every host of batch k (over every part of the run). */
  function lockstep(recs: RunRecord[]): void {
    const firstStart = recs.findIndex((r) => r.type === "host_start" && r.batch === 1);
    const lastEnd = Math.max(...recs.flatMap((r, i) => (r.type === "host_end" && r.batch === 0 ? [i] : [])));
    expect(firstStart, "batch 2 started").toBeGreaterThan(-1);
    expect(firstStart, "no host of batch 2 before batch 1 finished").toBeGreaterThan(lastEnd);
  }
  async function allRunning(): Promise<void> {
    for (const h of lab.hosts) expect(await runningInstances(h), h.name).toEqual({ "-": true, "postfix-out": true });
  }
  // What an uninterrupted run of ROLLING prints (its statuses, checked against one; a full run more would cost CI
  // a minute): every host changed, both instances restarted, the pause ok.
  const UNINTERRUPTED = [[["mta01", "mta02"], ["mta03", "mta04"]].map((b) => b.map((h) => [h, "changed", [["restart", "changed", [["-", "changed"], ["postfix-out", "changed"]]], ["settle", "ok", []]]]))];
  function finishedAsUninterrupted(r: ControllerResult): Doc {
    expect(r.exitCode, r.stderr).toBe(0);
    const doc = docOf(r) as Doc;
    expect(statuses(doc)).toEqual(UNINTERRUPTED);
    expect(doc.aborted).toBe(false);
    return doc;
  }

  it("SIGKILL during a stop, then (resumed) between an instance's stop and its start: resumed twice, each instance started exactly once", async () => {
    const state = mkdtempSync(join(dir, "s-"));
    await Promise.all(lab.hosts.map((h) => clearPostfixLog(h)));
    const [h1, , h3] = lab.hosts as [TestLabHost, TestLabHost, TestLabHost, TestLabHost];
    // 1. mta01's first stop (postfix-out) is held: kill there.
    await hold(h1, "stop");
    const c = start(state, ["run", ROLLING, "--json"]);
    await journalReaches(state, 0, "mta01 stopping", (r) => r.type === "instance" && r.host === h1.name && r.state === "stopping");
    for (let i = 0; i < 500 && !(await holding(h1)); i++) await new Promise((r) => setTimeout(r, 20));
    expect(await holding(h1), "mta01's stop is held").toBe(true);
    await killed(c);
    // 2. Resumed: mta03 (batch 2) stops both instances and its first start is held: kill there.
    await hold(h3, "start");
    const r1 = resume(state);
    await journalReaches(state, 1, "mta03 starting", (r) => r.type === "instance" && r.host === h3.name && r.state === "starting");
    for (let i = 0; i < 500 && !(await holding(h3)); i++) await new Promise((r) => setTimeout(r, 20));
    expect(await holding(h3), "mta03's start is held").toBe(true);
    await killed(r1);
    await disarm();
    // 3. Resumed again, to the end.
    const r2 = await resume(state).done;
    const doc = finishedAsUninterrupted(r2);
    expect(r2.stderr).toMatch(/taken up where they were \(instances looked at first\): mta03/);
    // mta03 was found with both instances stopped by the interrupted restart: started, gated.
    const h3restart = doc.plays[0]!.batches[1]!.hosts.find((h) => h.host === h3.name)!.steps[0]!;
    expect(h3restart.instances.map((i) => i.action).join("\n")).toMatch(/found stopped/);
    expect(await starts()).toEqual(Object.fromEntries(lab.hosts.map((h) => [h.name, { "-": 1, "postfix-out": 1 }])));
    await allRunning();
    const recs = records(state);
    lockstep(recs);
    expect(recs.filter((r) => r.type === "resume")).toHaveLength(2);
    expect(recs.filter((r) => r.type === "run_end")).toHaveLength(1);
    recordCase({ case: "resume: SIGKILL during a stop, then between stop and start" });
  }, 240_000);

  it("SIGKILL during a health gate, then (resumed) between batches, then (resumed) during a pause step: each instance started exactly once", async () => {
    const state = mkdtempSync(join(dir, "s-"));
    await Promise.all(lab.hosts.map((h) => clearPostfixLog(h)));
    const c = start(state, ["run", ROLLING, "--json"]);
    await journalReaches(state, 0, "a health gate", (r) => r.type === "instance" && r.state === "health_gate");
    await killed(c);
    const r1 = resume(state);
    await journalReaches(state, 1, "the end of batch 1", (r) => r.type === "batch_end" && r.batch === 0);
    await killed(r1);
    const r2 = resume(state);
    await journalReaches(state, 2, "a pause step in batch 2", (r) => r.type === "step_start" && r.kind === "pause" && (r.host === "mta03" || r.host === "mta04"));
    await killed(r2);
    const r3 = await resume(state).done;
    finishedAsUninterrupted(r3);
    expect(await starts()).toEqual(Object.fromEntries(lab.hosts.map((h) => [h.name, { "-": 1, "postfix-out": 1 }])));
    await allRunning();
    const recs = records(state);
    lockstep(recs);
    // The journal says what each resume found: batch 1 done when the second resume started.
    const resumes = recs.filter((r): r is Extract<RunRecord, { type: "resume" }> => r.type === "resume");
    expect(resumes).toHaveLength(3);
    expect(resumes[1]!.done).toEqual(expect.arrayContaining(["mta01", "mta02"]));
    expect(recs.some((r) => r.type === "instance" && r.state.startsWith("found_"))).toBe(true);
    recordCase({ case: "resume: SIGKILL during a health gate, between batches, during a pause" });
  }, 300_000);

  it("the budget carries over a kill; a run stopped by its budget resumes only with --reset-budget (recorded)", async () => {
    const state = mkdtempSync(join(dir, "s-"));
    const [h1, h2, h3, h4] = lab.hosts as [TestLabHost, TestLabHost, TestLabHost, TestLabHost];
    await Promise.all(lab.hosts.map((h) => h.exec("rm -f /tmp/resume-ran /run/resume-fail")));
    await Promise.all([h1, h3].map((h) => h.exec("touch /run/resume-fail")));
    // mta01 fails (1 of 2), then the kill during the pause after it.
    const c = start(state, ["run", NOTE, "--json"]);
    await journalReaches(state, 0, "the end of batch 1", (r) => r.type === "batch_end" && r.batch === 0);
    await killed(c);
    // Resumed: the budget starts at 1, so mta03's failure spends it and mta04 is never attempted.
    const r1 = await resume(state).done;
    expect(r1.exitCode, r1.stderr).toBe(2);
    expect(r1.stderr).toMatch(/play 1: failure budget 1 of 2 spent \(carried over\)/);
    const d1 = docOf(r1) as Doc;
    expect(d1.plays[0]!.failures).toBe(2);
    expect(d1.plays[0]!.stopped).toMatch(/failure budget spent/);
    expect(d1.hosts.map((h) => [h.host, h.status])).toEqual([
      ["mta01", "failed"],
      ["mta02", "ok"],
      ["mta03", "failed"],
      ["mta04", "skipped"],
    ]);
    // Finished, stopped by its budget: nothing to resume without --reset-budget.
    const refused = await resume(state, ["last"]).done;
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toMatch(/nothing left to do.*--reset-budget/);
    await h3.exec("rm -f /run/resume-fail");
    const r2 = await resume(state, ["--reset-budget"]).done;
    expect(r2.exitCode, r2.stderr).toBe(2); // mta01 and mta03 stay failed: finished hosts are not touched again
    const d2 = docOf(r2) as Doc;
    expect(d2.hosts.map((h) => [h.host, h.status])).toEqual([
      ["mta01", "failed"],
      ["mta02", "ok"],
      ["mta03", "failed"],
      ["mta04", "ok"],
    ]);
    const ran = await Promise.all([h1, h2, h3, h4].map(async (h) => (await h.exec("cat /tmp/resume-ran 2>/dev/null | wc -l")).stdout.trim()));
    expect(ran).toEqual(["1", "1", "1", "1"]);
    const recs = records(state);
    expect(recs.filter((r) => r.type === "resume").map((r) => (r as { resetBudget?: boolean }).resetBudget ?? false)).toEqual([false, true]);
    expect(recs.filter((r) => r.type === "budget").map((r) => (r as { failures: number }).failures)).toEqual([1, 1, 2, 0]);
    await Promise.all(lab.hosts.map((h) => h.exec("rm -f /run/resume-fail")));
    recordCase({ case: "resume: budget carried over, --reset-budget" });
  }, 180_000);

  it("a changed inventory is refused (--force accepts it, recorded); two resumes at once: one refuses, no host's work is done twice", async () => {
    const state = mkdtempSync(join(dir, "s-"));
    await Promise.all(lab.hosts.map((h) => h.exec("rm -f /tmp/resume-ran /run/resume-fail")));
    const inv = join(mkdtempSync(join(dir, "inv-")), "inventory.yml");
    copyFileSync(lab.inventoryPath, inv);
    const c = start(state, ["run", NOTE, "--json"], inv);
    await journalReaches(state, 0, "the end of batch 1", (r) => r.type === "batch_end" && r.batch === 0);
    await killed(c);
    appendFileSync(inv, "# changed after the run started\n");
    const refused = await resume(state).done;
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toMatch(new RegExp(`cannot be resumed: changed since it started: ${inv.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")} \\(sha256 .* when the run started, sha256 .* now\\).*--force`));
    // Two at once, both with --force.
    const [a, b] = await Promise.all([resume(state, ["--force"]).done, resume(state, ["--force"]).done]);
    const codes = [a.exitCode, b.exitCode].sort();
    expect(codes, `${a.stderr}\n${b.stderr}`).toEqual([0, 1]);
    const loser = a.exitCode === 1 ? a : b;
    // It found the lock held or, had the first one finished before it looked, no interrupted run
    // (asked without a run ID) or nothing left to do.
    expect(loser.stderr).toMatch(/is being resumed by another postfleet|nothing left to do|no interrupted run to resume/);
    const ran = await Promise.all(lab.hosts.map(async (h) => (await h.exec("cat /tmp/resume-ran 2>/dev/null | wc -l")).stdout.trim()));
    expect(ran).toEqual(["1", "1", "1", "1"]);
    const recs = records(state);
    const resumes = recs.filter((r): r is Extract<RunRecord, { type: "resume" }> => r.type === "resume");
    expect(resumes).toHaveLength(1);
    expect(resumes[0]!.forced?.map((f) => f.source)).toEqual([inv]);
    recordCase({ case: "resume: changed inventory refused, --force, two resumes at once" });
  }, 180_000);
});
