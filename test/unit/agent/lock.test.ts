import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { acquireLock, releaseAllLocks } from "../../../src/agent/lock.js";
import { PostmultiFatal } from "../../../src/agent/messages.js";

describe("host lock file", async () => {
  let root: string;
  let dir: string;
  beforeEach(async () => {
    root = mkdtempSync(join(tmpdir(), "pfA-lock-"));
    dir = join(root, "postfleet");
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it("creates a private directory and a lock file naming the holder, removed on release", async () => {
    const lock = await acquireLock("postmulti -e create", 1000, { dir });
    const info = JSON.parse(readFileSync(join(dir, "agent.lock"), "utf8"));
    expect(info).toMatchObject({ pid: process.pid, what: "postmulti -e create", token: lock.token });
    lock.release();
    expect(existsSync(join(dir, "agent.lock"))).toBe(false);
  });

  it("lets a second taker fail with code lock after its timeout", async () => {
    const lock = await acquireLock("first", 1000, { dir });
    try {
      const err = await acquireLock("second", 50, { dir }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(PostmultiFatal);
      expect((err as PostmultiFatal).code).toBe("lock");
      expect((err as Error).message).toContain(`held by pid ${process.pid} (first`);
    } finally {
      lock.release();
    }
    (await acquireLock("third", 50, { dir })).release();
  });

  it("takes over the lock of a dead holder", async () => {
    (await acquireLock("make dir", 50, { dir })).release();
    writeFileSync(join(dir, "agent.lock"), JSON.stringify({ pid: 2 ** 22 + 12345, start: "1", token: "old", since: "x", what: "dead" }));
    const lock = await acquireLock("new", 50, { dir });
    expect(JSON.parse(readFileSync(join(dir, "agent.lock"), "utf8")).token).toBe(lock.token);
    lock.release();
  });

  it("stops waiting when cancelled, without blocking the event loop", async () => {
    const lock = await acquireLock("first", 1000, { dir });
    const ac = new AbortController();
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 10);
    setTimeout(() => ac.abort("cancelled by request 9"), 200);
    const started = Date.now();
    const err = await acquireLock("second", 10_000, { dir, signal: ac.signal }).then(
      () => null,
      (e: unknown) => e,
    );
    clearInterval(ticker);
    expect((err as PostmultiFatal).code).toBe("cancelled");
    expect(Date.now() - started).toBeLessThan(2000);
    expect(ticks).toBeGreaterThan(5); // timers ran while it waited
    lock.release();
  });

  it("releaseAllLocks removes every lock this process holds", async () => {
    await acquireLock("held", 1000, { dir });
    expect(existsSync(join(dir, "agent.lock"))).toBe(true);
    releaseAllLocks();
    expect(existsSync(join(dir, "agent.lock"))).toBe(false);
  });

  it("refuses a lock directory others can write", async () => {
    (await acquireLock("make dir", 50, { dir })).release();
    chmodSync(dir, 0o777);
    await expect(acquireLock("x", 50, { dir })).rejects.toThrow(/unsafe lock directory/);
  });
});
