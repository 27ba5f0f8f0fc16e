// The journal's group commit: records are written at once and fsync'd in
// groups; a request to a host waits until every record before it is on disk,
// and requests waiting at the same moment share one fsync.
import { mkdtempSync, openSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { RunEvents } from "../../../../src/orchestrator/events.js";
import { RunHostSession } from "../../../../src/orchestrator/host-session.js";
import { attachRecorder } from "../../../../src/orchestrator/journal/recorder.js";
import { fsyncedSink, RecordWriter, type FsyncFn } from "../../../../src/orchestrator/journal/store.js";

/** An fsync that finishes only when the test says so, counting its calls. */
function heldFsync(): { fn: FsyncFn; calls: number; finish(err?: NodeJS.ErrnoException): void } {
  const pending: Array<(err: NodeJS.ErrnoException | null) => void> = [];
  const h = {
    calls: 0,
    fn: ((_fd, done) => {
      h.calls++;
      pending.push(done);
    }) as FsyncFn,
    finish(err?: NodeJS.ErrnoException) {
      for (const done of pending.splice(0)) done(err ?? null);
    },
  };
  return h;
}

function journal(fsyncFn: FsyncFn) {
  const path = join(mkdtempSync(join(tmpdir(), "pf-group-commit-")), "journal.jsonl");
  return fsyncedSink(path, openSync(path, "wx", 0o600), fsyncFn);
}

const settledYet = async (p: Promise<unknown>): Promise<boolean> => {
  let done = false;
  void p.then(() => (done = true));
  for (let i = 0; i < 5; i++) await Promise.resolve();
  return done;
};

describe("journal group commit", () => {
  it("writes each line at once; callers waiting at the same moment share one fsync; lines written meanwhile take the next", async () => {
    const f = heldFsync();
    const sink = journal(f.fn);
    sink.write("a\n");
    sink.write("b\n");
    expect(readFileSync(sink.path, "utf8")).toBe("a\nb\n"); // in the file before any fsync: a killed controller keeps it
    const waits = [sink.durable!(), sink.durable!(), sink.durable!()];
    expect(f.calls).toBe(1);
    sink.write("c\n");
    const later = sink.durable!();
    expect(f.calls).toBe(1); // one fsync in flight at a time
    f.finish();
    await Promise.all(waits);
    expect(await settledYet(later)).toBe(false); // "c" was written after the first fsync began
    expect(f.calls).toBe(2);
    f.finish();
    await later;
    await sink.durable!(); // nothing new: no fsync
    expect(f.calls).toBe(2);
    sink.close();
  });

  it("the first record is on disk before write() returns; a failed fsync is reported once and the journal is dropped, the run going on", async () => {
    const f = heldFsync();
    const sink = journal(f.fn);
    const errors: string[] = [];
    const w = new RecordWriter([sink], (i, e) => errors.push(`${i}: ${e.message}`));
    w.write({ type: "interrupt", reason: "first" });
    await w.durable(); // synced by the first write itself
    expect(f.calls).toBe(0);
    w.write({ type: "interrupt", reason: "second" });
    const a = w.durable();
    const b = w.durable();
    f.finish(Object.assign(new Error("EIO: i/o error, fsync"), { code: "EIO" }));
    await expect(a).resolves.toBeUndefined();
    await expect(b).resolves.toBeUndefined();
    expect(errors).toEqual(["0: EIO: i/o error, fsync"]);
    expect(w.journalError?.message).toMatch(/EIO/);
    w.write({ type: "interrupt", reason: "third" });
    await w.durable();
    expect(readFileSync(sink.path, "utf8").split("\n").filter(Boolean)).toHaveLength(2);
    w.close();
  });

  it("a host's request leaves only once the records before it are on disk", async () => {
    const f = heldFsync();
    const events = new RunEvents();
    const w = new RecordWriter([journal(f.fn)]);
    w.write({ type: "interrupt", reason: "run_start stands in" });
    const detach = attachRecorder(events, w);
    const sent: string[] = [];
    const session = new RunHostSession({ name: "mta1" } as never, { agentBundle: "", transport: {} as never, beforeRequest: () => events.settled() });
    // The agent is already started: only the order of the journal and the request is under test.
    (session as unknown as { starting: Promise<unknown> }).starting = Promise.resolve({
      request: async (body: { op: string }) => (sent.push(body.op), { ok: true }),
    });
    events.emit({ type: "step-started", host: "mta1", step: 0, name: "restart" });
    const req = session.request({ op: "facts" } as never);
    expect(await settledYet(req)).toBe(false);
    expect(sent).toEqual([]);
    expect(f.calls).toBe(1);
    f.finish();
    await req;
    expect(sent).toEqual(["facts"]);
    detach();
    // Released: nothing holds requests any more.
    events.emit({ type: "step-started", host: "mta1", step: 1, name: "reload" });
    await session.request({ op: "facts" } as never);
    expect(sent).toEqual(["facts", "facts"]);
    expect(f.calls).toBe(1);
    w.close();
  });
});
