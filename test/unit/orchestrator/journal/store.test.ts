// The run journal's pure parts: writing (modes, numbering, fsync'd lines, a
// failure at start vs mid-run), the recorder's records from engine events,
// reading back (status, the document as printed, a rebuilt one), pruning,
// redaction, and the events schema file.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { RunEvents } from "../../../../src/orchestrator/events.js";
import { redactArgv, redactVars, sourceHash } from "../../../../src/orchestrator/journal/meta.js";
import { loadRun } from "../../../../src/orchestrator/journal/rebuild.js";
import { attachRecorder } from "../../../../src/orchestrator/journal/recorder.js";
import { RunRecordSchema, type RecordOf } from "../../../../src/orchestrator/journal/records.js";
import { createJournalFile, isRunId, JournalError, listRunIds, newRunId, processStartTime, pruneRuns, readJournal, RecordWriter, runsDir } from "../../../../src/orchestrator/journal/store.js";
import { summarize, type HostOutcome } from "../../../../src/orchestrator/run-document.js";
import type { PlaybookDocument, PlayHostOutcome } from "../../../../src/orchestrator/steps/step-results.js";
import { EVENTS_SCHEMA_FILE, eventsSchemaText } from "../../../../scripts/events-schema.js";

const tmp = () => mkdtempSync(join(tmpdir(), "pf-journal-"));

function start(runId: string, o: { pid?: number; startTime?: string } = {}): Omit<RecordOf<"run_start">, "seq" | "ts"> {
  return {
    type: "run_start",
    runId,
    command: "run pb.yml",
    kind: "playbook",
    argv: ["run", "pb.yml"],
    cwd: "/x",
    controller: { hostname: "ctl", pid: o.pid ?? process.pid, ...(o.startTime ? { startTime: o.startTime } : {}), user: "root" },
    version: "0.1.0",
    playbook: { path: "pb.yml", sha256: "0".repeat(64) },
    check: false,
    inventory: [{ source: "inv.yml", sha256: null }],
    hosts: ["a", "b", "c"],
    plan: { plays: [{ name: "roll", pattern: "all", batches: [["a", "b"], ["c"]], maxFail: 2 }] },
  };
}

const outcome = (host: string, status: HostOutcome["status"]): PlayHostOutcome => ({ host, status, results: [], durationMs: 5, steps: [{ index: 0, name: "restart", type: "restart", status: status === "failed" ? "failed" : "changed", instances: [], durationMs: 5 }] });

/** A play of two batches on a, b | c: a changed, b failed (budget 1 of 2), then c changed; stops after `upTo` events. */
function playEvents(events: RunEvents, upTo = Infinity): void {
  const list: Array<() => void> = [
    () => events.emit({ type: "play-started", play: 0, name: "roll", hosts: ["a", "b", "c"], batches: 2 }),
    () => events.emit({ type: "batch-started", play: 0, batch: 0, hosts: ["a", "b"] }),
    () => events.emit({ type: "host-started", host: "a" }),
    () => events.emit({ type: "host-started", host: "b" }),
    () => events.emit({ type: "step-started", host: "a", step: 0, name: "restart" }),
    () => events.emit({ type: "instance", host: "a", step: 0, instance: "postfix", state: "stopping" }),
    () => events.emit({ type: "step-finished", host: "a", step: 0, name: "restart", status: "changed" }),
    () => events.emit({ type: "host-finished", outcome: outcome("a", "changed") }),
    () => events.emit({ type: "step-started", host: "b", step: 0, name: "restart" }),
    () => events.emit({ type: "budget", play: 0, failures: 1, maxFail: 2 }),
    () => events.emit({ type: "host-finished", outcome: outcome("b", "failed") }),
    () => events.emit({ type: "batch-finished", play: 0, batch: 0, outcomes: [outcome("a", "changed"), outcome("b", "failed")] }),
    () => events.emit({ type: "batch-started", play: 0, batch: 1, hosts: ["c"] }),
    () => events.emit({ type: "host-started", host: "c" }),
    () => events.emit({ type: "host-finished", outcome: outcome("c", "changed") }),
    () => events.emit({ type: "batch-finished", play: 0, batch: 1, outcomes: [outcome("c", "changed")] }),
    () => events.emit({ type: "play-finished", play: 0, name: "roll" }),
  ];
  list.slice(0, upTo).forEach((f) => f());
}

describe("run journal", () => {
  it("run ids sort by start time and are recognised", () => {
    const a = newRunId(new Date("2026-01-02T03:04:05.006Z"));
    const b = newRunId(new Date("2026-01-02T03:04:05.007Z"));
    expect(a).toMatch(/^20260102T030405006Z-[0-9a-f]{6}$/);
    expect(isRunId(a)).toBe(true);
    expect([b, a].sort()).toEqual([a, b]);
  });

  it("lives in $XDG_STATE_HOME/postfleet/runs, else ~/.local/state (a relative XDG_STATE_HOME is ignored)", () => {
    expect(runsDir({ XDG_STATE_HOME: "/s", HOME: "/h" })).toBe("/s/postfleet/runs");
    expect(runsDir({ HOME: "/h" })).toBe("/h/.local/state/postfleet/runs");
    expect(runsDir({ XDG_STATE_HOME: "rel", HOME: "/h" })).toBe("/h/.local/state/postfleet/runs");
  });

  it("creates directory 0700 and file 0600; each record is one numbered, schema-valid line", () => {
    const dir = join(tmp(), "runs");
    const id = newRunId();
    const j = createJournalFile(dir, id);
    const w = new RecordWriter([j]);
    w.write(start(id));
    w.write({ type: "interrupt", reason: "x" });
    // on disk before close: written through, not buffered
    const lines = readFileSync(j.path, "utf8").trim().split("\n");
    expect(lines).toHaveLength(2);
    w.close();
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, id)).mode & 0o777).toBe(0o700);
    expect(statSync(j.path).mode & 0o777).toBe(0o600);
    const recs = readJournal(j.path);
    expect(recs.map((r) => r.seq)).toEqual([1, 2]);
    for (const r of recs) expect(RunRecordSchema.safeParse(r).success).toBe(true);
  });

  it("cannot be created where the state directory is a regular file: JournalError", () => {
    const d = tmp();
    writeFileSync(join(d, "state"), "");
    expect(() => createJournalFile(join(d, "state", "postfleet", "runs"), newRunId())).toThrow(JournalError);
  });

  it("a failure on the first record throws (the run never starts); later, it is reported once and the other sinks go on", () => {
    let fail = true;
    const lines: string[] = [];
    const bad = { write: () => { if (fail) throw new Error("ENOSPC: no space left on device"); }, close: () => undefined };
    const good = { write: (l: string) => void lines.push(l), close: () => undefined };
    expect(() => new RecordWriter([bad, good]).write(start("x"))).toThrow(/cannot write the run's journal: ENOSPC/);

    fail = false;
    const errors: string[] = [];
    const w = new RecordWriter([bad, good], (i, e) => errors.push(`${i}: ${e.message}`));
    w.write(start("x"));
    fail = true;
    w.write({ type: "interrupt", reason: "a" });
    w.write({ type: "interrupt", reason: "b" });
    expect(errors).toEqual(["0: ENOSPC: no space left on device"]);
    expect(w.journalError?.message).toMatch(/ENOSPC/);
    expect(lines).toHaveLength(3); // the events stream got every record

    // Without a journal (read-only commands) a broken --events stream never stops the run, even at its first record.
    const streamErrors: number[] = [];
    fail = true;
    expect(() => new RecordWriter([bad], (i) => streamErrors.push(i), false).write(start("x"))).not.toThrow();
    expect(streamErrors).toEqual([0]);
  });

  it("records a playbook run from the engine's events; a finished run reads back with the document it printed", () => {
    const dir = join(tmp(), "runs");
    const id = newRunId();
    const j = createJournalFile(dir, id);
    const w = new RecordWriter([j]);
    w.write(start(id));
    const events = new RunEvents();
    const detach = attachRecorder(events, w);
    playEvents(events);
    const hosts = [outcome("a", "changed"), outcome("b", "failed"), outcome("c", "changed")];
    const doc: PlaybookDocument = { command: "run pb.yml", summary: summarize(hosts), aborted: false, hosts, playbook: "pb.yml", check: false, plays: [], retryHosts: ["b"] };
    events.emit({ type: "run-finished", document: doc });
    detach();
    w.close();
    const { run, records, document } = loadRun(dir, id, "ctl");
    expect(records.map((r) => r.type)).toEqual([
      "run_start", "play_start", "batch_start", "host_start", "host_start", "step_start", "instance", "step_end", "host_end", "step_start", "budget", "host_end", "batch_end",
      "batch_start", "host_start", "host_end", "batch_end", "play_end", "run_end",
    ]);
    for (const r of records) expect(RunRecordSchema.safeParse(r).success, JSON.stringify(r)).toBe(true);
    expect(records.find((r) => r.type === "host_end" && r.host === "c")).toMatchObject({ play: 0, batch: 1, status: "changed" });
    expect(JSON.stringify(document, null, 2)).toBe(JSON.stringify(doc, null, 2));
    expect(run).toMatchObject({ id, status: "finished", exitCode: 2, hosts: { changed: 2, failed: 1 }, inFlight: [] });
  });

  it("a journal without an end whose writer is gone is interrupted, rebuilt as far as it got; a live writer's is running", () => {
    const dir = join(tmp(), "runs");
    const write = (id: string, o: { pid?: number; startTime?: string }) => {
      const w = new RecordWriter([createJournalFile(dir, id)]);
      w.write(start(id, o));
      const events = new RunEvents();
      attachRecorder(events, w);
      playEvents(events, 9); // a done, b in flight at its restart step
      w.close();
    };
    const dead = newRunId();
    write(dead, { pid: 2 ** 22 + 12345 }); // above pid_max: no such process
    const { run, document } = loadRun(dir, dead, "ctl");
    expect(run.status).toBe("interrupted");
    expect(run.inFlight).toEqual([{ host: "b", step: "step 1 (restart)" }]);
    const pb = document as PlaybookDocument;
    expect(pb.aborted).toBe(true);
    expect(pb.plays[0]!.batches.map((b) => b.hosts.map((h) => `${h.host}:${h.status}`))).toEqual([["a:changed", "b:skipped"], ["c:skipped"]]);
    expect(pb.plays[0]!.batches[0]!.hosts[1]!.error).toMatch(/in flight.*step 1 \(restart\)/);
    expect(pb.plays[0]!.batches[1]!.hosts[0]!.error).toMatch(/the run stopped before this host was reached/);
    expect(pb.retryHosts).toEqual(["b", "c"]);

    const reused = newRunId();
    write(reused, { pid: process.pid, startTime: "1" }); // our pid, another process's start time
    expect(loadRun(dir, reused, "ctl").run.status).toBe("interrupted");

    const live = newRunId();
    write(live, { pid: process.pid, ...(processStartTime(process.pid) ? { startTime: processStartTime(process.pid)! } : {}) });
    expect(loadRun(dir, live, "ctl").run.status).toBe("running");
  });

  it("the first Ctrl-C (SIGTERM, SIGHUP) is an interrupt record", () => {
    const lines: string[] = [];
    const w = new RecordWriter([{ write: (l) => void lines.push(l), close: () => undefined }]);
    w.write(start("x"));
    const stop = new AbortController();
    const detach = attachRecorder(new RunEvents(), w, stop.signal);
    stop.abort();
    detach();
    expect(JSON.parse(lines[1]!)).toMatchObject({ seq: 2, type: "interrupt", reason: expect.stringMatching(/^interrupted/) });
  });

  it("a last line torn by a crash is ignored", () => {
    const dir = join(tmp(), "runs");
    const id = newRunId();
    const j = createJournalFile(dir, id);
    const w = new RecordWriter([j]);
    w.write(start(id, { pid: 2 ** 22 + 1 }));
    w.close();
    writeFileSync(j.path, readFileSync(j.path, "utf8") + '{"seq":2,"ts":"2026', { flag: "w" });
    expect(loadRun(dir, id, "ctl").run.status).toBe("interrupted");
  });

  it("prunes by count and by age, never a spared (running) run", () => {
    const dir = join(tmp(), "runs");
    const day = 86_400_000;
    const now = Date.UTC(2026, 5, 1);
    const ids = [40, 30, 20, 3, 2, 1].map((d) => newRunId(new Date(now - d * day)));
    for (const id of ids) {
      mkdirSync(join(dir, id), { recursive: true });
      writeFileSync(join(dir, id, "journal.jsonl"), "");
    }
    const removed = pruneRuns(dir, { keep: 4, maxAgeDays: 25, now, spare: (id) => id === ids[0] });
    expect(removed).toEqual([ids[1]]); // 30 days: 5th newest and older than 25 days; 40 days: spared; 20 days: 4th, young enough
    expect(listRunIds(dir)).toEqual([ids[5], ids[4], ids[3], ids[2], ids[0]]);
    expect(pruneRuns(dir, { keep: 2, maxAgeDays: 0, now })).toEqual([ids[3], ids[2], ids[0]]);
  });

  it("redacts secret-looking extra vars at any depth and every -e value on the command line (not postmulti's own -e)", () => {
    expect(redactVars({ relay: "[mx]:25", smtp_password: "hunter2", nested: { api_token: "t", ok: 1 }, list: [{ vault_pass: "v" }] })).toEqual({
      relay: "[mx]:25",
      smtp_password: "<redacted>",
      nested: { api_token: "<redacted>", ok: 1 },
      list: [{ vault_pass: "<redacted>" }],
    });
    const argv = ["-i", "inv", "run", "pb.yml", "-e", "pw=s3cret", "--extra-vars", '{"k":"s3cret"}', "--extra-vars=s3cret", "-es3cret", "-Ce", "s3cret"];
    const red = redactArgv(argv);
    expect(red.join(" ")).not.toContain("s3cret");
    expect(red.slice(0, 5)).toEqual(["-i", "inv", "run", "pb.yml", "-e"]);
    expect(redactArgv(["-l", "a", "postmulti", "-I", "postfix-x", "-e", "destroy"])).toEqual(["-l", "a", "postmulti", "-I", "postfix-x", "-e", "destroy"]);
  });

  it("hashes a file's content and a directory's names and files; a host list has none", () => {
    const d = tmp();
    mkdirSync(join(d, "inv"));
    writeFileSync(join(d, "inv", "a.yml"), "all: {}\n");
    const h1 = sourceHash("inv", d);
    expect(h1).toMatch(/^[0-9a-f]{64}$/);
    writeFileSync(join(d, "inv", "a.yml"), "all: {hosts: {x: {}}}\n");
    expect(sourceHash("inv", d)).not.toBe(h1);
    expect(sourceHash("a,b,", d)).toBeNull();
    expect(sourceHash("missing", d)).toBeNull();
    chmodSync(join(d, "inv"), 0o700);
  });

  it("playbooks/events.schema.json is generated from the record definitions (npx tsx scripts/events-schema.ts)", () => {
    expect(readFileSync(EVENTS_SCHEMA_FILE, "utf8")).toBe(eventsSchemaText());
  });
});
