// The --serve process itself (no Postfix needed for lock/unlock): the host
// lock it holds is released when it ends by a signal or by end of input.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { constants, tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { waitUntil } from "../../../support/process-groups.js";

function startAgent(lockDir: string) {
  const child = spawn(process.execPath, ["--import", "tsx", "src/agent/main.ts", "--serve"], {
    env: { ...process.env, POSTFLEET_LOCK_DIR: lockDir },
    stdio: ["pipe", "pipe", "inherit"],
  });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  return { child, exited, output: () => out };
}

describe("agent --serve process", () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), "pf-serve-proc-"));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  for (const sig of ["SIGTERM", "SIGHUP", "SIGINT"] as const)
    it(`releases the lock and exits 128+signal on ${sig}`, async () => {
      const lockDir = join(root, sig);
      const a = startAgent(lockDir);
      a.child.stdin.write(JSON.stringify({ id: 1, op: "lock", holder: `held until ${sig}` }) + "\n");
      expect(await waitUntil(() => a.output().includes('"op":"lock"'), 20_000)).toBe(true);
      const info = JSON.parse(readFileSync(join(lockDir, "agent.lock"), "utf8"));
      expect(info).toMatchObject({ pid: a.child.pid, what: `held until ${sig}` });
      a.child.kill(sig);
      expect(await a.exited).toBe(128 + constants.signals[sig]);
      expect(existsSync(join(lockDir, "agent.lock"))).toBe(false);
    }, 30_000);

  it("releases the lock at end of input and exits 0", async () => {
    const lockDir = join(root, "eof");
    const a = startAgent(lockDir);
    a.child.stdin.write(JSON.stringify({ id: 1, op: "lock", holder: "until eof" }) + "\n");
    expect(await waitUntil(() => a.output().includes('"op":"lock"'), 20_000)).toBe(true);
    expect(existsSync(join(lockDir, "agent.lock"))).toBe(true);
    a.child.stdin.end();
    expect(await a.exited).toBe(0);
    expect(existsSync(join(lockDir, "agent.lock"))).toBe(false);
  }, 30_000);

  it("exits and releases the lock when its controller goes silent past the heartbeat's deadline, its input still open", async () => {
    const lockDir = join(root, "silent");
    const a = startAgent(lockDir);
    a.child.stdin.write(JSON.stringify({ op: "heartbeat", deadlineMs: 1000 }) + "\n");
    a.child.stdin.write(JSON.stringify({ id: 1, op: "lock", holder: "a silent controller" }) + "\n");
    expect(await waitUntil(() => a.output().includes('"op":"lock"'), 20_000)).toBe(true);
    expect(existsSync(join(lockDir, "agent.lock"))).toBe(true);
    expect(await a.exited).toBe(0);
    expect(existsSync(join(lockDir, "agent.lock"))).toBe(false);
    a.child.stdin.destroy();
  }, 30_000);
});
