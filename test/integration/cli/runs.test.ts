// Durable runs on real lab hosts: a playbook
// run keeps a journal; `postfleet runs` lists it; `runs show` prints the
// document the run printed, byte for byte; --events and --junit while it
// runs and after the fact; a controller killed with SIGKILL leaves a run
// listed `interrupted` that shows how far it got.
import { existsSync, mkdtempSync, readFileSync, readdirSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RunRecordSchema, type RunRecord } from "../../../src/orchestrator/journal/records.js";
import { jsonOf, postfleet, spawnCli } from "../../support/cli.js";
import { parseJunit } from "../../support/junit-xml.js";
import { startLab, type Lab } from "../../support/lab.js";
import { explain, until, writePlaybook } from "../../support/playbook.js";

const lines = (text: string): RunRecord[] => text.split("\n").filter(Boolean).map((l) => JSON.parse(l) as RunRecord);

describe("postfleet runs: journal, history, event streams (2 lab hosts)", () => {
  let lab: Lab;
  let state: string;
  const env = () => ({ HOME: join(lab.dir, "home"), XDG_STATE_HOME: state });
  const cli = (args: string[]) => postfleet(args, { env: env() });
  const runsDir = () => join(state, "postfleet", "runs");

  beforeAll(async () => {
    lab = await startLab(2);
    state = mkdtempSync(join(tmpdir(), "pf-state-"));
  });
  afterAll(async () => {
    await lab?.stop();
  });

  const restart = () =>
    writePlaybook("restart.yml", "- name: Restart\n  hosts: all\n  serial: 1\n  max_fail: 2\n  steps:\n    - name: restart\n      instances: enabled\n      restart:\n");

  it("postmulti --events -: only events on stdout, the human output on stderr; a start is journaled, -l is not (the instances run for the next cases)", async () => {
    const before = existsSync(runsDir()) ? readdirSync(runsDir()).length : 0;
    const r = await cli(["-i", lab.inventoryPath, "--events", "-", "postmulti", "-p", "start"]);
    expect(r.exitCode, r.stderr).toBe(0);
    const recs = lines(r.stdout);
    for (const rec of recs) expect(RunRecordSchema.safeParse(rec).error).toBeUndefined();
    expect(recs[0]!.type).toBe("run_start");
    expect(recs.at(-1)!.type).toBe("run_end");
    expect(recs.filter((x) => x.type === "host_end")).toHaveLength(2);
    expect(r.stderr).toMatch(/^mta01\b.*\| (CHANGED|OK)/m); // folded with mta02 when both did the same
    expect(readdirSync(runsDir()).length).toBe(before + 1);

    const list = await cli(["-i", lab.inventoryPath, "postmulti", "-l"]);
    expect(list.exitCode).toBe(0);
    expect(readdirSync(runsDir()).length).toBe(before + 1);
    const bad = await cli(["-i", lab.inventoryPath, "--events", "-", "--json", "postmulti", "-p", "reload"]);
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toMatch(/--events - and --json/);
  }, 120_000);

  it("a playbook run writes a journal; runs lists it finished; runs show prints exactly its --json; --events and --junit match the schema and the hosts", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pf-out-"));
    const pb = restart();
    const r = await cli(["-i", lab.inventoryPath, "run", pb, "--json", "--events", join(dir, "ev.jsonl"), "--junit", join(dir, "j.xml")]);
    expect(r.exitCode, explain(r)).toBe(0);
    const doc = jsonOf(r);

    const ids = readdirSync(runsDir()).sort();
    expect(ids).toHaveLength(2); // the postmulti start, then this one
    const id = ids[1]!;
    expect(statSync(runsDir()).mode & 0o777).toBe(0o700);
    expect(statSync(join(runsDir(), id)).mode & 0o777).toBe(0o700);
    const journal = join(runsDir(), id, "journal.jsonl");
    expect(statSync(journal).mode & 0o777).toBe(0o600);

    // The events file holds the journal's lines, each valid against the schema, numbered in order.
    const events = readFileSync(join(dir, "ev.jsonl"), "utf8");
    expect(events).toBe(readFileSync(journal, "utf8"));
    const recs = lines(events);
    for (const rec of recs) expect(RunRecordSchema.safeParse(rec).error).toBeUndefined();
    expect(recs.map((x) => x.seq)).toEqual(recs.map((_, i) => i + 1));
    const types = new Set(recs.map((x) => x.type));
    for (const t of ["run_start", "play_start", "batch_start", "host_start", "step_start", "step_end", "instance", "host_end", "batch_end", "play_end", "run_end"]) expect(types, t).toContain(t);
    const start = recs[0]!;
    expect(start).toMatchObject({ type: "run_start", runId: id, kind: "playbook", playbook: { path: pb }, plan: { plays: [{ name: "Restart", batches: [["mta01"], ["mta02"]], maxFail: 2 }] } });
    if (start.type === "run_start") expect(start.inventory[0]!.sha256).toMatch(/^[0-9a-f]{64}$/);
    // Each instance's stop and start, gated, in the journal: stopping, stopped, starting, started, health_gate, healthy, then its result.
    const primary = recs.filter((x) => x.type === "instance" && x.host === "mta01" && x.instance === "-").map((x) => (x.type === "instance" ? x.state : ""));
    expect(primary).toEqual(["stopping", "stopped", "starting", "started", "health_gate", "healthy", "done"]);
    expect(recs.at(-1)).toMatchObject({ type: "run_end", exitCode: 0, aborted: false });

    const list = jsonOf(await cli(["runs", "--json"]));
    expect(list.runs).toHaveLength(2);
    expect(list.runs[1].command).toBe("postmulti -p start");
    expect(list.runs[0]).toMatchObject({ id, command: `run ${pb}`, status: "finished", exitCode: 0, hosts: { changed: 2, failed: 0 } });
    expect(list.runs[0].finished >= list.runs[0].started).toBe(true);

    const show = await cli(["runs", "show", id, "--json"]);
    expect(show.exitCode).toBe(0);
    expect(show.stdout).toBe(r.stdout);
    expect(doc.summary.changed).toBe(2);

    const x = parseJunit(readFileSync(join(dir, "j.xml"), "utf8"));
    expect(x.suites.map((s) => s.name)).toEqual(["Restart"]);
    expect(x.suites[0]!.cases.map((c) => [c.name, c.failure ?? c.skipped ?? null])).toEqual([["mta01", null], ["mta02", null]]);

    // After the fact, from the journal: the same events and the same JUnit.
    const again = await cli(["runs", "show", id, "--events", "-", "--junit", join(dir, "j2.xml")]);
    expect(again.stdout).toBe(events);
    expect(again.stderr).toMatch(/finished/);
    expect(readFileSync(join(dir, "j2.xml"), "utf8")).toBe(readFileSync(join(dir, "j.xml"), "utf8"));

    const human = await cli(["runs"]);
    expect(human.stdout).toMatch(new RegExp(`${id}\\s+finished`));
  }, 180_000);

  it("a controller killed with SIGKILL during a pause: runs lists the run interrupted, runs show says how far it got", async () => {
    const pb = writePlaybook("pause.yml", "- name: Slow\n  hosts: all\n  serial: 1\n  steps:\n    - name: restart\n      instances: enabled\n      restart:\n    - name: think\n      pause: 120s\n");
    const child = spawnCli(["-i", lab.inventoryPath, "run", pb], { env: env(), ignoreOutput: true });
    const exited = new Promise((r) => child.on("close", r));
    let id = "";
    const journal = () => join(runsDir(), id, "journal.jsonl");
    await until(async () => {
      const newest = readdirSync(runsDir()).sort().at(-1)!;
      id = newest;
      return existsSync(journal()) && lines(readFileSync(journal(), "utf8")).some((x) => x.type === "step_start" && x.name === "think");
    }, "the run to reach its pause step", 90_000);
    child.kill("SIGKILL");
    await exited;

    const list = jsonOf(await cli(["runs", "--json"]));
    const run = list.runs.find((x: any) => x.id === id);
    expect(run).toMatchObject({ status: "interrupted", finished: null, exitCode: null, inFlight: [{ host: "mta01", step: "step 2 (think)" }] });
    const show = jsonOf(await cli(["runs", "show", id, "--json"]));
    expect(show.aborted).toBe(true);
    const hosts = show.plays[0].batches.map((b: any) => b.hosts[0]);
    expect(hosts.map((h: any) => [h.host, h.status])).toEqual([["mta01", "skipped"], ["mta02", "skipped"]]);
    expect(hosts[0].error).toMatch(/in flight.*step 2 \(think\)/);
    // what it had done before: its restart step, with each instance's result
    expect(hosts[0].steps.map((st: any) => [st.name, st.status])).toEqual([["restart", "changed"]]);
    expect(hosts[0].steps[0].instances.length).toBeGreaterThan(0);
    expect(hosts[1].error).toMatch(/the run stopped before this host was reached/);
    expect(show.retryHosts).toEqual(["mta01", "mta02"]);
    const human = await cli(["runs", "show", id]);
    expect(human.stdout).toMatch(/interrupted/);
    expect(human.stdout).toMatch(/in flight when the journal stopped: mta01 at step 2 \(think\)/);
  }, 180_000);
});
