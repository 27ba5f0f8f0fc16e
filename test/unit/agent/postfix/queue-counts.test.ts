// Counting an instance's queued messages from its queue directories: hashed
// subdirectories counted, a queue directory not there yet holds none, and one
// that cannot be read is an error (what the report and the queue gate see),
// never 0.
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { queueCounts } from "../../../../src/agent/postfix/state.js";

describe("queueCounts", () => {
  it("counts files below each queue, hashed subdirectories included; a missing queue directory holds none", () => {
    const q = mkdtempSync(join(tmpdir(), "pf-queue-"));
    mkdirSync(join(q, "deferred", "A"), { recursive: true });
    writeFileSync(join(q, "deferred", "A", "A1B2C3"), "");
    writeFileSync(join(q, "deferred", "A", "A4B5C6"), "");
    mkdirSync(join(q, "active"));
    writeFileSync(join(q, "active", "F00"), "");
    expect(queueCounts(q)).toEqual({ counts: { maildrop: 0, incoming: 0, active: 1, deferred: 2, hold: 0, corrupt: 0 } });
  });

  it("a queue directory that cannot be read is an error naming it, not a count", () => {
    const q = mkdtempSync(join(tmpdir(), "pf-queue-"));
    mkdirSync(join(q, "deferred"));
    writeFileSync(join(q, "deferred", "A"), ""); // fine: a file
    writeFileSync(join(q, "hold"), "not a directory"); // readdir: ENOTDIR (EACCES needs a non-root test user)
    const r = queueCounts(q);
    expect(r.counts).toBeUndefined();
    expect(r.error).toContain(`cannot read ${join(q, "hold")} (ENOTDIR)`);
  });
});
