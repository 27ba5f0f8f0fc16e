// The staged edit against other writers of the same files, on a temporary
// config directory: the edit callback stands in for postconf on the staged
// copies, and the other writer is flock(1) on FILE.tmp as Postfix's
// edit_file(3) does it (the fault suite does the same with a real postconf).
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { lockForEdit } from "../../../../src/agent/postfix/edit-file-lock.js";
import { PostmultiFatal } from "../../../../src/agent/postmulti/messages.js";
import { ATTEMPTS, stagedEdit } from "../../../../src/agent/postfix/staged-edit.js";

const MAIN = "myhostname = a\n";
const MASTER = "smtp inet n - y - - smtpd\n";

/** What a postconf -e does to a file: a whole new file renamed over it. */
function appendByRename(file: string, line: string): void {
  writeFileSync(`${file}.new`, readFileSync(file, "utf8") + line);
  renameSync(`${file}.new`, file);
}

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!cond()) throw new Error("never happened");
}

describe("stagedEdit with other writers", () => {
  let dir: string;
  let holder: ChildProcess | undefined;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "pfA-staged-"));
    writeFileSync(join(dir, "main.cf"), MAIN);
    writeFileSync(join(dir, "master.cf"), MASTER);
  });
  afterEach(() => {
    holder?.kill("SIGKILL");
    holder = undefined;
    rmSync(dir, { recursive: true, force: true });
  });
  const leftovers = () => readdirSync(dir).filter((n) => n !== "main.cf" && n !== "master.cf");
  const ours = (stage: string) => appendByRename(join(stage, "main.cf"), "ours = 1\n");

  it("puts the edited copy in place and leaves nothing else behind", async () => {
    const replaced = await stagedEdit(dir, async (stage) => ours(stage));
    expect(replaced).toEqual([join(dir, "main.cf")]);
    expect(readFileSync(join(dir, "main.cf"), "utf8")).toBe(MAIN + "ours = 1\n");
    expect(readFileSync(join(dir, "master.cf"), "utf8")).toBe(MASTER);
    expect(leftovers()).toEqual([]);
  });

  it("makes the edit again on fresh copies when another writer changed the file meanwhile: both changes stay", async () => {
    const attempts: number[] = [];
    const replaced = await stagedEdit(dir, async (stage, attempt) => {
      attempts.push(attempt);
      if (attempt === 0) appendByRename(join(dir, "main.cf"), "manual_during = yes\n");
      ours(stage);
    });
    expect(attempts).toEqual([0, 1]);
    expect(replaced).toEqual([join(dir, "main.cf")]);
    expect(readFileSync(join(dir, "main.cf"), "utf8")).toBe(MAIN + "manual_during = yes\n" + "ours = 1\n");
    expect(leftovers()).toEqual([]);
  });

  it("a change to a file the edit does not replace is no reason to start again", async () => {
    const attempts: number[] = [];
    await stagedEdit(dir, async (stage, attempt) => {
      attempts.push(attempt);
      if (attempt === 0) appendByRename(join(dir, "master.cf"), "pickup unix n - y 60 1 pickup\n");
      ours(stage);
    });
    expect(attempts).toEqual([0]);
    expect(readFileSync(join(dir, "master.cf"), "utf8")).toBe(MASTER + "pickup unix n - y 60 1 pickup\n");
    expect(readFileSync(join(dir, "main.cf"), "utf8")).toBe(MAIN + "ours = 1\n");
  });

  it("gives up after its attempts with a message naming the file, writing nothing and keeping the other writer's change", async () => {
    let n = 0;
    const err = await stagedEdit(dir, async (stage) => {
      appendByRename(join(dir, "main.cf"), `manual_${++n} = yes\n`);
      ours(stage);
    }).catch((e: unknown) => e);
    expect(n).toBe(ATTEMPTS);
    expect(err).toBeInstanceOf(PostmultiFatal);
    expect((err as PostmultiFatal).code).toBe("conflict");
    expect((err as Error).message).toContain(`${join(dir, "main.cf")} changed while this edit was being made`);
    expect((err as Error).message).toContain("nothing of this change was written");
    expect(readFileSync(join(dir, "main.cf"), "utf8")).toBe(MAIN + "manual_1 = yes\nmanual_2 = yes\nmanual_3 = yes\n");
    expect(leftovers()).toEqual([]);
  });

  it("waits for a Postfix writer that holds FILE.tmp's lock, then sees its change and edits on top of it", async () => {
    // The other writer, as postconf: lock main.cf.tmp, read main.cf, and 0.5 s later rename its new file over it.
    const main = join(dir, "main.cf");
    holder = spawn("flock", ["-x", `${main}.tmp`, "sh", "-c", `cp "$1" "$1.theirs"; echo 'manual_during = yes' >> "$1.theirs"; touch "$1.locked"; sleep 0.5; mv "$1.theirs" "$1"`, "sh", main]);
    await until(() => existsSync(`${main}.locked`));
    rmSync(`${main}.locked`);
    const started = Date.now();
    await stagedEdit(dir, async (stage) => ours(stage));
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
    expect(readFileSync(main, "utf8")).toBe(MAIN + "manual_during = yes\n" + "ours = 1\n");
    expect(leftovers()).toEqual([]);
  });

  it("holds FILE.tmp's lock while it commits, as postconf does, and removes FILE.tmp when done", async () => {
    const lock = await lockForEdit(join(dir, "main.cf"), 1000);
    expect(lock.path).toBe(join(dir, "main.cf.tmp"));
    expect(statSync(lock.path).mode & 0o7777).toBe(0o600);
    expect(spawnSync("flock", ["-n", lock.path, "true"]).status, "another writer cannot take it").toBe(1);
    lock.release();
    expect(existsSync(lock.path)).toBe(false);
  });

  it("takes over a FILE.tmp a crashed writer left, as postconf does: emptied if it is its own kind, else replaced", async () => {
    const tmp = join(dir, "main.cf.tmp");
    writeFileSync(tmp, "half of a main.cf", { mode: 0o600 });
    const ino = statSync(tmp).ino;
    let lock = await lockForEdit(join(dir, "main.cf"), 1000);
    expect([statSync(tmp).ino, statSync(tmp).size]).toEqual([ino, 0]);
    lock.release();
    writeFileSync(tmp, "not ours", { mode: 0o644 });
    lock = await lockForEdit(join(dir, "main.cf"), 1000);
    expect([statSync(tmp).mode & 0o7777, statSync(tmp).size]).toEqual([0o600, 0]);
    lock.release();
    expect(existsSync(tmp)).toBe(false);
  });

  it("fails the edit with code lock, naming FILE.tmp, when a writer holds it past the wait; nothing written", async () => {
    const main = join(dir, "main.cf");
    holder = spawn("flock", ["-x", `${main}.tmp`, "sh", "-c", `touch "$1.locked"; sleep 30`, "sh", main]);
    await until(() => existsSync(`${main}.locked`));
    rmSync(`${main}.locked`);
    const err = await stagedEdit(dir, async (stage) => ours(stage), { lockWaitMs: 200 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PostmultiFatal);
    expect((err as PostmultiFatal).code).toBe("lock");
    expect((err as Error).message).toContain(`waiting for the lock on ${main}.tmp`);
    expect(readFileSync(main, "utf8")).toBe(MAIN);
  });
});
