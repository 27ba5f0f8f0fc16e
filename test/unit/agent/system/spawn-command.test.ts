import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MAX_CAPTURE_BYTES, spawnCommand } from "../../../../src/agent/system/spawn-command.js";
import { processEnv } from "../../../../src/agent/system/process.js";
import { groupAlive, waitUntil } from "../../../support/process-groups.js";

const env = processEnv();



describe("runCommand", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "pf-run-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("returns the exit status, 1 for a signal, and a spawn error for a missing program", async () => {
    expect((await spawnCommand(["sh", "-c", "exit 3"], { env, capture: true })).exitCode).toBe(3);
    const killed = await spawnCommand(["sh", "-c", "kill -9 $$"], { env, capture: true });
    expect(killed.exitCode).toBe(1);
    const missing = await spawnCommand(["/nonexistent/prog"], { env, capture: true });
    expect(missing).toMatchObject({ exitCode: 1, cancelled: false, timedOut: false });
    expect(missing.spawnError?.code).toBe("ENOENT");
    expect((await spawnCommand([""], { env, capture: true })).spawnError?.code).toBe("ENOENT");
  });

  it("captures stdout and stderr and feeds the input", async () => {
    const r = await spawnCommand(["sh", "-c", "cat; echo err >&2"], { env, capture: true, input: "hello\n" });
    expect(r).toMatchObject({ exitCode: 0, stdout: "hello\n", stderr: "err\n", truncated: false });
  });

  it("caps captured output per stream and says so", async () => {
    const r = await spawnCommand(["sh", "-c", `head -c ${MAX_CAPTURE_BYTES + 100_000} /dev/zero`], { env, capture: true });
    expect(r.exitCode).toBe(0);
    expect(r.truncated).toBe(true);
    expect(r.stdout.length).toBeLessThanOrEqual(MAX_CAPTURE_BYTES);
    expect(r.stdout.length).toBeGreaterThan(MAX_CAPTURE_BYTES - 1024 * 1024);
    expect(r.stderr).toContain("output truncated");
  });

  it("kills the whole process group on timeout", async () => {
    const pidFile = join(dir, "pid");
    const r = await spawnCommand(["sh", "-c", `echo $$ > ${pidFile}; sleep 30 & sleep 30 & wait`], { env, capture: true, timeoutMs: 300 });
    expect(r).toMatchObject({ timedOut: true, cancelled: false, exitCode: 1 });
    expect(r.durationMs).toBeLessThan(3000);
    const pgid = Number(readFileSync(pidFile, "utf8"));
    expect(await waitUntil(() => !groupAlive(pgid))).toBe(true);
  });

  it("sends SIGKILL after the grace period to a group that ignores SIGTERM", async () => {
    const pidFile = join(dir, "pid");
    const ac = new AbortController();
    const p = spawnCommand(["sh", "-c", `trap '' TERM; echo $$ > ${pidFile}; sleep 30 & wait`], { env, capture: true, signal: ac.signal, killGraceMs: 400 });
    expect(await waitUntil(() => existsSync(pidFile) && readFileSync(pidFile, "utf8").trim() !== "")).toBe(true);
    ac.abort("cancelled by test");
    const r = await p;
    expect(r.cancelled).toBe(true);
    expect(r.durationMs).toBeGreaterThanOrEqual(400);
    expect(r.durationMs).toBeLessThan(5000);
    expect(await waitUntil(() => !groupAlive(Number(readFileSync(pidFile, "utf8"))))).toBe(true);
  });

  it("runs nothing when the signal is already aborted", async () => {
    const ac = new AbortController();
    ac.abort("cancelled before start");
    const marker = join(dir, "ran");
    const r = await spawnCommand(["touch", marker], { env, capture: true, signal: ac.signal });
    expect(r).toMatchObject({ cancelled: true, exitCode: 1 });
    expect(existsSync(marker)).toBe(false);
  });

  it("keeps a plain-mode child in the caller's process group", async () => {
    const r = await spawnCommand(["sh", "-c", `ps -o pgid= -p $$ > ${join(dir, "pgid")}`], { env, capture: false });
    expect(r.exitCode).toBe(0);
    expect(Number(readFileSync(join(dir, "pgid"), "utf8"))).toBe(Number(readFileSync(`/proc/${process.pid}/stat`, "utf8").split(") ")[1]!.split(" ")[2]));
  });
});
