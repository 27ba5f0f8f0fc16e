import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { acquireLock } from "../../../src/agent/lock.js";
import { PostmultiFatal } from "../../../src/agent/messages.js";

describe("host lock file", () => {
  let root: string;
  let dir: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), "pfA-lock-"));
    dir = join(root, "postfleet");
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it("creates a private directory and a lock file naming the holder, removed on release", () => {
    const lock = acquireLock("postmulti -e create", 1000, dir);
    const info = JSON.parse(readFileSync(join(dir, "agent.lock"), "utf8"));
    expect(info).toMatchObject({ pid: process.pid, what: "postmulti -e create", token: lock.token });
    lock.release();
    expect(existsSync(join(dir, "agent.lock"))).toBe(false);
  });

  it("lets a second taker fail with code lock after its timeout", () => {
    const lock = acquireLock("first", 1000, dir);
    try {
      expect(() => acquireLock("second", 50, dir)).toThrow(PostmultiFatal);
      try {
        acquireLock("second", 50, dir);
      } catch (e) {
        expect((e as PostmultiFatal).code).toBe("lock");
        expect((e as Error).message).toContain(`held by pid ${process.pid} (first`);
      }
    } finally {
      lock.release();
    }
    acquireLock("third", 50, dir).release();
  });

  it("takes over the lock of a dead holder", () => {
    acquireLock("make dir", 50, dir).release();
    writeFileSync(join(dir, "agent.lock"), JSON.stringify({ pid: 2 ** 22 + 12345, start: "1", token: "old", since: "x", what: "dead" }));
    const lock = acquireLock("new", 50, dir);
    expect(JSON.parse(readFileSync(join(dir, "agent.lock"), "utf8")).token).toBe(lock.token);
    lock.release();
  });

  it("refuses a lock directory others can write", () => {
    acquireLock("make dir", 50, dir).release();
    chmodSync(dir, 0o777);
    expect(() => acquireLock("x", 50, dir)).toThrow(/unsafe lock directory/);
  });
});
