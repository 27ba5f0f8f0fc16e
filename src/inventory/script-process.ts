// Running inventory and vault password scripts so that none can hang
// postfleet or outlive it: each runs in its own process group (a new
// session), with a time limit; at the limit the whole group gets SIGTERM,
// then SIGKILL after a grace period; when the script exits, whatever it left
// running in its group is killed; if postfleet is interrupted or exits, its
// scripts' groups are killed too. Scripts get postfleet's environment minus
// postfleet's own secrets (scriptEnv), and output is capped.

import { spawn } from "node:child_process";
import { scriptEnv } from "./secrets.js";

export const SCRIPT_KILL_GRACE_MS = 2000;
export const MAX_SCRIPT_OUTPUT_BYTES = 256 * 1024 * 1024;
const STDERR_KEEP_BYTES = 64 * 1024;

export interface ScriptOptions {
  timeoutMs: number;
  /** Between SIGTERM and SIGKILL at the time limit. */
  killGraceMs?: number;
  /** Vault password scripts may prompt: they get postfleet's stdin and stderr. */
  interactive?: boolean;
  maxOutputBytes?: number;
}

export interface ScriptResult {
  stdout: Buffer;
  /** The end of stderr (empty when interactive). */
  stderr: string;
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class ScriptFailure extends Error {
  constructor(
    readonly kind: "timeout" | "output" | "spawn",
    message: string,
  ) {
    super(message);
  }
}

/** Process groups of scripts still running (killed if postfleet goes). */
const live = new Set<number>();
const RELAY = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: the group is gone already
  }
}

function killAll(): void {
  for (const g of live) killGroup(g, "SIGKILL");
}

function onSignal(signal: NodeJS.Signals): void {
  killAll();
  live.clear();
  unwatch();
  // Nobody else handles it: die of it, as without this handler.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

let watching = false;
function watch(): void {
  if (watching) return;
  watching = true;
  process.on("exit", killAll);
  for (const s of RELAY) process.on(s, onSignal);
}
function unwatch(): void {
  if (!watching) return;
  watching = false;
  process.off("exit", killAll);
  for (const s of RELAY) process.off(s, onSignal);
}

/**
 * Run `path args` as described above. Resolves when the script has exited and
 * its output is read (whatever its status); rejects with ScriptFailure when it
 * cannot start, runs past `timeoutMs`, or prints more than the cap.
 */
export function runScript(path: string, args: string[], o: ScriptOptions): Promise<ScriptResult> {
  const grace = o.killGraceMs ?? SCRIPT_KILL_GRACE_MS;
  const maxOut = o.maxOutputBytes ?? MAX_SCRIPT_OUTPUT_BYTES;
  return new Promise((resolve, reject) => {
    let child;
    try {
      child = spawn(path, args, {
        detached: true,
        env: scriptEnv(),
        stdio: o.interactive ? ["inherit", "pipe", "inherit"] : ["ignore", "pipe", "pipe"],
      });
    } catch (e) {
      reject(new ScriptFailure("spawn", (e as Error).message));
      return;
    }
    const pid = child.pid;
    const out: Buffer[] = [];
    let outBytes = 0;
    let err = "";
    let failure: ScriptFailure | undefined;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    const timers: NodeJS.Timeout[] = [];
    let done = false;
    if (pid !== undefined) {
      live.add(pid);
      watch();
    }
    const finish = (): void => {
      if (done) return;
      done = true;
      for (const t of timers) clearTimeout(t);
      if (pid !== undefined) {
        live.delete(pid);
        if (!live.size) unwatch();
      }
      if (failure) reject(failure);
      else resolve({ stdout: Buffer.concat(out), stderr: err, code: exit?.code ?? null, signal: exit?.signal ?? null });
    };
    /** Stop the group: TERM, KILL after the grace; if a stray process still holds the pipes, stop waiting for it. */
    const stop = (f: ScriptFailure, now = false): void => {
      if (failure) return;
      failure = f;
      if (pid === undefined) return;
      killGroup(pid, now ? "SIGKILL" : "SIGTERM");
      timers.push(
        setTimeout(() => {
          killGroup(pid, "SIGKILL");
          timers.push(
            setTimeout(() => {
              child.stdout?.destroy();
              child.stderr?.destroy();
              finish();
            }, 1000),
          );
        }, now ? 0 : grace),
      );
    };
    child.stdout?.on("data", (d: Buffer) => {
      outBytes += d.length;
      if (outBytes > maxOut) {
        stop(new ScriptFailure("output", `printed more than ${Math.round(maxOut / 1024 / 1024)} MB`), true);
        return;
      }
      if (!failure) out.push(d);
    });
    child.stderr?.on("data", (d: Buffer) => {
      err = (err + d.toString("utf8")).slice(-STDERR_KEEP_BYTES);
    });
    child.on("error", (e) => {
      if (!failure) failure = new ScriptFailure("spawn", e.message);
      if (pid === undefined) finish();
    });
    child.on("exit", (code, signal) => {
      exit = { code, signal };
      // What the script left running in its group (a background child holding the pipe, ...) goes now.
      if (pid !== undefined) killGroup(pid, "SIGKILL");
    });
    child.on("close", finish);
    timers.push(setTimeout(() => stop(new ScriptFailure("timeout", `did not finish within ${o.timeoutMs / 1000} s`)), o.timeoutMs));
  });
}
