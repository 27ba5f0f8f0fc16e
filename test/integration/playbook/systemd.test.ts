// The systemd path on the lab's systemd variant (2 hosts, systemd as PID 1,
// Debian's postfix@<instance> units): create-instances.yml then
// rolling-restart.yml go through `systemctl` (the JSON says via "systemd"),
// `systemctl is-active postfix@...` agrees afterwards, and the journal shows
// each host's stop jobs in reverse order (postfix-in, postfix-out, primary)
// and start jobs in order (primary, postfix-out, postfix-in).
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jsonOf } from "../../support/cli.js";
import { startLab, type Lab, type TestLabHost } from "../../support/lab.js";
import { explain, hostOutcomes, PLAYBOOKS, runPlaybook, type PlaybookDocument } from "../../support/playbook.js";

const UNITS = ["postfix@-.service", "postfix@postfix-out.service", "postfix@postfix-in.service"];

/** systemd's job results for postfix@ units since `sinceUs` (µs), in journal order: "stop postfix@postfix-in.service". */
async function unitJobs(h: TestLabHost, sinceUs: number): Promise<Array<{ job: string; us: number }>> {
  const r = await h.exec(["journalctl", "-o", "json", "--no-pager", "_PID=1", `--since=@${Math.floor(sinceUs / 1e6)}`]);
  return r.stdout
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, string>)
    .filter((e) => e.UNIT?.startsWith("postfix@") && e.JOB_TYPE && e.JOB_RESULT === "done" && Number(e.__REALTIME_TIMESTAMP) >= sinceUs)
    .map((e) => ({ job: `${e.JOB_TYPE} ${e.UNIT}`, us: Number(e.__REALTIME_TIMESTAMP) }));
}

const isActive = async (h: TestLabHost, unit: string) => (await h.exec(["systemctl", "is-active", unit])).stdout.trim();

describe("playbooks on hosts where systemd runs Postfix (postfix@<instance>)", { timeout: 480_000 }, () => {
  let lab: Lab;

  beforeAll(async () => {
    lab = await startLab(2, { systemd: true });
    await Promise.all(lab.hosts.map((h) => h.exec("timeout 90 systemctl is-system-running --wait")));
  }, 600_000);
  afterAll(async () => {
    await lab?.stop();
  });

  it("create-instances.yml starts the instances through their units, output before input", async () => {
    const since = Date.now() * 1000;
    const r = await runPlaybook(lab, join(PLAYBOOKS, "create-instances.yml"), ["--json"]);
    expect(r.exitCode, explain(r)).toBe(0);
    const doc: PlaybookDocument = jsonOf(r);
    for (const h of hostOutcomes(doc)) {
      const start = h.steps.find((s) => s.type === "start")!;
      expect(start.instances.map((i) => `${i.instance} ${i.status} ${i.via}`), h.host).toEqual(["- changed systemd", "postfix-out changed systemd", "postfix-in changed systemd"]);
    }
    for (const h of lab.hosts) {
      for (const u of UNITS) expect(await isActive(h, u), `${h.name} ${u}`).toBe("active");
      const starts = (await unitJobs(h, since)).filter((j) => j.job.startsWith("start "));
      expect(starts.map((j) => j.job), h.name).toEqual(UNITS.map((u) => `start ${u}`));
    }
  });

  it("rolling-restart.yml restarts through systemctl: stop jobs in reverse order, start jobs in order; is-active agrees", async () => {
    const pids = async (h: TestLabHost) => (await h.exec("cat /var/spool/postfix*/pid/master.pid | tr -d ' '")).stdout;
    const before = await Promise.all(lab.hosts.map(pids));
    const since = Date.now() * 1000;
    const r = await runPlaybook(lab, join(PLAYBOOKS, "rolling-restart.yml"), ["--json"]);
    expect(r.exitCode, explain(r)).toBe(0);
    const doc: PlaybookDocument = jsonOf(r);
    expect(doc.plays[0]!.batches.map((b) => b.hosts.map((h) => h.host))).toEqual([["mta01"], ["mta02"]]);
    for (const h of hostOutcomes(doc)) {
      const restart = h.steps.find((s) => s.type === "restart")!;
      expect(restart.instances.map((i) => `${i.instance} ${i.status} ${i.via}`), h.host).toEqual(["- changed systemd", "postfix-out changed systemd", "postfix-in changed systemd"]);
      const postfixOut = restart.instances[1]!;
      expect(postfixOut.commands).toEqual([expect.stringMatching(/systemctl stop postfix@postfix-out\.service$/), expect.stringMatching(/systemctl start postfix@postfix-out\.service$/)]);
      expect(postfixOut.health?.every((c) => c.ok)).toBe(true);
    }
    const windows = hostOutcomes(doc).map((h) => [Date.parse(h.startedAt!) * 1000, Date.parse(h.finishedAt!) * 1000] as const);
    for (const [i, h] of lab.hosts.entries()) {
      for (const u of UNITS) expect(await isActive(h, u), `${h.name} ${u}`).toBe("active");
      expect(await pids(h), `${h.name}: new masters`).not.toBe(before[i]);
      const jobs = await unitJobs(h, since);
      expect(jobs.map((j) => j.job), h.name).toEqual([...[...UNITS].reverse().map((u) => `stop ${u}`), ...UNITS.map((u) => `start ${u}`)]);
      // systemd's clock agrees with the engine's: each host's jobs inside its own window, so mta02's after mta01's.
      for (const j of jobs) {
        expect(j.us, `${h.name} ${j.job}`).toBeGreaterThanOrEqual(windows[i]![0]);
        expect(j.us, `${h.name} ${j.job}`).toBeLessThanOrEqual(windows[i]![1]);
      }
    }
    // Journal as operators read it (short-precise) names the units too.
    const text = (await lab.hosts[0]!.exec(["journalctl", "-o", "short-precise", "--no-pager", "-u", "postfix@postfix-in.service"])).stdout;
    expect(text).toMatch(/\d\d:\d\d:\d\d\.\d{6} .*(Stopped|Started) .*postfix-in/);
  });
});
