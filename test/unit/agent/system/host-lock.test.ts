import { spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { acquireLock, releaseAllLocks } from "../../../../src/agent/system/host-lock.js";
import { PostmultiFatal } from "../../../../src/agent/postmulti/messages.js";

describe("host lock file", async () => {
  let root: string;
  let dir: string;
  beforeEach(async () => {
    root = mkdtempSync(join(tmpdir(), "pfA-lock-"));
    dir = join(root, "postfleet");
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it("creates a directory only its owner can write (searchable: a root resident agent's socket is reached there) and a private lock file naming the holder, removed on release", async () => {
    const lock = await acquireLock("postmulti -e create", 1000, { dir });
    const info = JSON.parse(readFileSync(join(dir, "agent.lock"), "utf8"));
    expect(info).toMatchObject({ pid: process.pid, what: "postmulti -e create", token: lock.token });
    expect(statSync(dir).mode & 0o777).toBe(0o711);
    expect(statSync(join(dir, "agent.lock")).mode & 0o777).toBe(0o600);
    lock.release();
    expect(existsSync(join(dir, "agent.lock"))).toBe(false);
  });

  it("is a kernel lock: flock(1) on the file fails while held and succeeds after release", async () => {
    const path = join(dir, "agent.lock");
    const lock = await acquireLock("held", 1000, { dir });
    expect(spawnSync("flock", ["-n", path, "true"]).status).toBe(1);
    lock.release();
    expect(spawnSync("flock", ["-n", path, "true"]).status).toBe(0);
    rmSync(path);
  });

  it("is released by the kernel when its holder is killed (no stale lock to remove)", async () => {
    const path = join(dir, "agent.lock");
    (await acquireLock("make dir", 50, { dir })).release();
    // Another process holds the lock on the same file, then dies by SIGKILL.
    const holder = spawn("flock", ["-x", path, "sleep", "30"], { stdio: "ignore", detached: true });
    await new Promise((r) => setTimeout(r, 200));
    expect(spawnSync("flock", ["-n", path, "true"]).status).toBe(1);
    await expect(acquireLock("waiter", 100, { dir })).rejects.toMatchObject({ code: "lock" });
    const waiter = acquireLock("waiter", 5000, { dir });
    process.kill(-holder.pid!, "SIGKILL"); // flock(1) and its sleep, which shares the descriptor
    const lock = await waiter;
    expect(JSON.parse(readFileSync(path, "utf8")).token).toBe(lock.token);
    lock.release();
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

  it("is not blocked by the information a dead holder left", async () => {
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

  it("releaseAllLocks releases every lock this process holds", async () => {
    await acquireLock("held", 1000, { dir });
    expect(existsSync(join(dir, "agent.lock"))).toBe(true);
    releaseAllLocks();
    expect(existsSync(join(dir, "agent.lock"))).toBe(false);
    (await acquireLock("again", 50, { dir })).release();
  });

  it("a waiter that locks a file its holder unlinked on release locks the current file instead", async () => {
    const path = join(dir, "agent.lock");
    const first = await acquireLock("first", 1000, { dir });
    const second = acquireLock("second", 5000, { dir }); // waits on the first one's file
    await new Promise((r) => setTimeout(r, 200));
    first.release(); // unlinks, then unlocks: the second one must not be left holding a lost file
    const lock = await second;
    expect(JSON.parse(readFileSync(path, "utf8")).token).toBe(lock.token);
    expect(spawnSync("flock", ["-n", path, "true"]).status).toBe(1);
    lock.release();
  });

  it("takes a free lock at once with a zero timeout, and fails at once on a held one", async () => {
    const lock = await acquireLock("first", 0, { dir });
    await expect(acquireLock("second", 0, { dir })).rejects.toMatchObject({ code: "lock" });
    lock.release();
  });

  it("refuses a lock file that is a symlink", async () => {
    (await acquireLock("make dir", 50, { dir })).release();
    symlinkSync(join(root, "elsewhere"), join(dir, "agent.lock"));
    await expect(acquireLock("x", 50, { dir })).rejects.toThrow(/cannot open lock file/);
    expect(existsSync(join(root, "elsewhere"))).toBe(false);
  });

  it("refuses a lock directory others can write", async () => {
    (await acquireLock("make dir", 50, { dir })).release();
    chmodSync(dir, 0o777);
    await expect(acquireLock("x", 50, { dir })).rejects.toThrow(/unsafe lock directory/);
  });
});
