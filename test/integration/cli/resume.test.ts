// `postfleet resume` on real lab hosts: the newest
// interrupted run is the default; the resumed run's document and `runs show`
// cover the whole run, each host once; what was found and what is left is
// printed; extra vars whose values were not stored are asked for again; a
// `then:` handler owed by a step that ended before the kill still runs;
// the run's --retry file is updated from the whole run, and a retry file
// shrinks as reruns succeed (removed when empty).
import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunRecord } from "../../../src/orchestrator/journal/records.js";
import { jsonOf, postfleet, spawnCli } from "../../support/cli.js";
import { startLab, type Lab } from "../../support/lab.js";
import { clearPostfixLog, postfixLogLines, until, writePlaybook, type PlaybookDocument } from "../../support/playbook.js";

describe("postfleet resume (3 lab hosts)", () => {
  let lab: Lab;
  let state: string;
  const env = () => ({ HOME: join(lab.dir, "home"), XDG_STATE_HOME: state, POSTFLEET_AGENT_PERSIST: "0" });
  const cli = (args: string[]) => postfleet(args, { env: env() });
  const runs = () => join(state, "postfleet", "runs");
  const newest = () => readdirSync(runs()).filter((n) => /^\d{8}T/.test(n)).sort().at(-1)!;
  const records = (id: string): RunRecord[] => readFileSync(join(runs(), id, "journal.jsonl"), "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as RunRecord);

  // Each host restarts its instances (unless restart=false), then notes that it ran and fails where /run/resume-fail exists.
  const pb = () =>
    writePlaybook(
      "note.yml",
      `- name: Restart and note
  hosts: all
  serial: 1
  vars: {restart: true}
  steps:
    - name: restart
      when: restart
      instances: enabled
      restart:
    - name: note
      instances: ["-"]
      run:
        shell: true
        argv: "echo {{ smtp_password }} >> /tmp/resume-ran; test ! -e /run/resume-fail"
`,
    );

  /** `postfleet run` killed (SIGKILL) once mta01 has finished: mta02 and mta03 are left. */
  async function killedAfterFirstHost(args: string[]): Promise<string> {
    const before = existsSync(runs()) ? readdirSync(runs()).length : 0;
    const child = spawnCli(["-i", lab.inventoryPath, "run", ...args], { env: env(), ignoreOutput: true });
    const closed = new Promise((r) => child.on("close", r));
    await until(async () => existsSync(runs()) && readdirSync(runs()).length > before && readFileSync(join(runs(), newest(), "journal.jsonl"), "utf8").includes('"type":"batch_end"'), "mta01 to finish", 90_000);
    child.kill("SIGKILL");
    await closed;
    return newest();
  }

  beforeAll(async () => {
    lab = await startLab(3);
    await Promise.all(lab.hosts.map((h) => h.exec("postfix start")));
    state = mkdtempSync(join(tmpdir(), "pf-resume-state-"));
  }, 180_000);
  afterAll(async () => {
    await lab?.stop();
  });

  it("nothing to resume: exit 1, said so", async () => {
    const r = await cli(["resume"]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/no interrupted run to resume/);
  });

  it("the newest interrupted run by default: a secret extra var is asked for again; the document and runs show cover the whole run, each host once", async () => {
    await Promise.all(lab.hosts.map((h) => h.exec("rm -f /tmp/resume-ran /run/resume-fail")));
    const file = pb();
    const id = await killedAfterFirstHost([file, "-e", "smtp_password=pf-Secret-1", "--retry"]);
    expect((await cli(["runs", "--json"])).stdout).toContain('"status": "interrupted"');
    // The secret's value was not stored: refused until it is given again.
    const refused = await cli(["resume"]);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toMatch(/extra vars smtp_password were not stored .*give them again with -e/);
    await lab.hosts[2]!.exec("touch /run/resume-fail");
    const r = await cli(["resume", "-e", "smtp_password=pf-Secret-1"]);
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stdout).toMatch(new RegExp(`Resuming run ${id} \\(interrupted`));
    expect(r.stdout).toMatch(/finished before, not touched again: mta01\n/);
    expect(r.stdout).toMatch(/not reached yet: mta02, mta03|taken up where they were \(instances looked at first\): mta02/);
    expect(r.stdout).toMatch(/^RECAP/m);
    // Each host ran its steps once, over both parts, with the value given again; the start and resume records keep it redacted.
    for (const h of lab.hosts) expect((await h.exec("cat /tmp/resume-ran")).stdout).toBe("pf-Secret-1\n");
    const [startRec, resumeRec] = records(id).filter((x) => x.type === "run_start" || x.type === "resume");
    expect((startRec as { extraVars?: unknown }).extraVars).toEqual({ smtp_password: "<redacted>" });
    expect(JSON.stringify(resumeRec)).not.toContain("pf-Secret-1");
    const show = jsonOf(await cli(["runs", "show", id, "--json"])) as PlaybookDocument;
    expect(show.hosts.map((h) => [h.host, h.status])).toEqual([
      ["mta01", "changed"],
      ["mta02", "changed"],
      ["mta03", "failed"],
    ]);
    expect(show.plays[0]!.batches.map((b) => b.hosts.map((h) => h.host))).toEqual([["mta01"], ["mta02"], ["mta03"]]);
    expect(show.aborted).toBe(false);
    const list = jsonOf(await cli(["runs", "--json"])).runs.find((x: { id: string }) => x.id === id);
    expect(list).toMatchObject({ status: "finished", exitCode: 2, hosts: { changed: 2, failed: 1 } });
    expect(records(id).filter((x) => x.type === "host_end").map((x) => (x as { host: string }).host)).toEqual(["mta01", "mta02", "mta03"]);
    // The run's --retry carries over: the retry file names what is left of the whole run.
    const retry = file.replace(/\.yml$/, ".retry");
    expect(readFileSync(retry, "utf8")).toBe("mta03\n");
    // A rerun of it that succeeds leaves nothing to retry: the file goes.
    await lab.hosts[2]!.exec("rm -f /run/resume-fail");
    const again = await cli(["-i", lab.inventoryPath, "-l", `@${retry}`, "run", file, "-e", "smtp_password=pf-Secret-1", "--retry"]);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(existsSync(retry)).toBe(false);
  }, 240_000);

  it("a `then: reload` owed by a step that ended before the kill is run after the host's last step, once", async () => {
    const file = writePlaybook(
      "then.yml",
      `- name: Settings then reload
  hosts: all
  serial: 1
  steps:
    - name: settings
      instances: ["-"]
      postconf:
        main_cf:
          delay_warning_time: "{{ v }}h"
      then: reload
    - name: wait a bit
      pause: 3s
`,
    );
    await Promise.all(lab.hosts.map((h) => clearPostfixLog(h)));
    const before = readdirSync(runs()).length;
    const child = spawnCli(["-i", lab.inventoryPath, "-l", "mta01", "run", file, "-e", "v=7"], { env: env(), ignoreOutput: true });
    const closed = new Promise((r) => child.on("close", r));
    await until(async () => readdirSync(runs()).length > before && readFileSync(join(runs(), newest(), "journal.jsonl"), "utf8").includes('"name":"wait a bit"'), "mta01 in its pause", 90_000);
    child.kill("SIGKILL");
    await closed;
    const r = await cli(["resume", "--json"]);
    expect(r.exitCode, r.stderr).toBe(0);
    const steps = (jsonOf(r) as PlaybookDocument).plays[0]!.batches[0]!.hosts[0]!.steps;
    expect(steps.map((x) => [x.name, x.type, x.status])).toEqual([
      ["settings", "postconf", "changed"],
      ["wait a bit", "pause", "ok"],
      ["then: reload -", "then", "changed"],
    ]);
    expect((await postfixLogLines(lab.hosts[0]!)).filter((l) => /^postfix\/master: reload/.test(l))).toHaveLength(1);
  }, 180_000);

  it("a retry file shrinks as reruns succeed, and is removed when empty", async () => {
    await Promise.all(lab.hosts.map((h) => h.exec("rm -f /tmp/resume-ran /run/resume-fail")));
    await Promise.all(lab.hosts.slice(1).map((h) => h.exec("touch /run/resume-fail")));
    const file = pb();
    const retry = file.replace(/\.yml$/, ".retry");
    const run = (extra: string[]) => cli(["-i", lab.inventoryPath, ...extra, "run", file, "-e", "smtp_password=x", "-e", '{"restart": false}', "--retry"]);
    expect((await run([])).exitCode).toBe(2);
    expect(readFileSync(retry, "utf8")).toBe("mta02\nmta03\n");
    await lab.hosts[1]!.exec("rm -f /run/resume-fail");
    expect((await run(["-l", `@${retry}`])).exitCode).toBe(2);
    expect(readFileSync(retry, "utf8")).toBe("mta03\n");
    await lab.hosts[2]!.exec("rm -f /run/resume-fail");
    expect((await run(["-l", `@${retry}`])).exitCode).toBe(0);
    expect(existsSync(retry)).toBe(false);
  }, 240_000);
});
