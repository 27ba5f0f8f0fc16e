// Asynchronous process execution for the agent (protocol 2): the serve loop
// keeps reading requests (cancel) while a command runs. In structured mode a
// command runs in its own process group, so that a timeout or a cancel stops
// everything it started (postfix start forks; postmulti-script runs a shell):
// SIGTERM to the group, then SIGKILL after KILL_GRACE_MS. In plain postmulti
// mode the child stays in the caller's process group and terminal, as with
// postmulti's fork/exec.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { delimiter, join } from "node:path";
import { KILL_GRACE_MS } from "../../protocol/index.js";
import { encodeEscaped, hasEscapes, trampoline } from "./bytes.js";
import type { Env, RunResult } from "./process.js";

/** Output kept per stream; the rest is dropped and the result says so. */
export const MAX_CAPTURE_BYTES = 16 * 1024 * 1024;

export interface CommandOptions {
  env: Env;
  /** Capture stdout/stderr (structured mode) instead of passing them through. */
  capture: boolean;
  timeoutMs?: number;
  /** Data for the child's stdin (capture mode); else /dev/null, or the agent's own stdin in plain mode. */
  input?: string;
  /** Capture stdout only, pass stderr through (postconf under plain postmulti). */
  stderrThrough?: boolean;
  /** Aborting kills the command (cancel). */
  signal?: AbortSignal;
  /** Own process group, killed as a whole on timeout or abort. Default: `capture` without `stderrThrough`. */
  processGroup?: boolean;
  /** Between SIGTERM and SIGKILL (default KILL_GRACE_MS). */
  killGraceMs?: number;
}

export interface CommandResult extends RunResult {
  /** Stopped because `signal` was aborted. */
  cancelled: boolean;
  /** Output beyond MAX_CAPTURE_BYTES was dropped. */
  truncated: boolean;
}

function enoent(): NodeJS.ErrnoException {
  return Object.assign(new Error("spawn ENOENT"), { code: "ENOENT" }) as NodeJS.ErrnoException;
}

function failed(spawnError: NodeJS.ErrnoException | undefined, started: number): CommandResult {
  const r: CommandResult = { exitCode: 1, stdout: "", stderr: "", durationMs: Date.now() - started, timedOut: false, cancelled: false, truncated: false };
  if (spawnError) r.spawnError = spawnError;
  return r;
}

/** Run argv to completion. Never rejects: spawn failures come back as `spawnError`. */
export function spawnCommand(argv: string[], o: CommandOptions): Promise<CommandResult> {
  const started = Date.now();
  // Cancelled before it started: nothing is run.
  if (o.signal?.aborted) return Promise.resolve({ ...failed(undefined, started), cancelled: true });
  if (!argv[0]) return Promise.resolve(failed(enoent(), started)); // execvp("") fails with ENOENT
  if (argv.some(hasEscapes)) {
    // Arguments with bytes that are not UTF-8 go through a shell that rebuilds them.
    if (!whichBytes(argv[0], o.env.PATH)) return Promise.resolve(failed(enoent(), started));
    argv = trampoline(argv, o.env.PWD !== undefined);
  }
  // stderrThrough is plain mode sharing the terminal: stay in the caller's group, as a forked child would.
  const group = o.processGroup ?? (o.capture && !o.stderrThrough);
  const stdio: Array<"pipe" | "inherit" | "ignore"> = o.stderrThrough
    ? ["inherit", "pipe", "inherit"]
    : o.capture
      ? ["pipe", "pipe", "pipe"]
      : ["inherit", "inherit", "inherit"];
  return new Promise<CommandResult>((resolve) => {
    let child;
    try {
      child = spawn(argv[0]!, argv.slice(1), { env: o.env, stdio, detached: group });
    } catch (e) {
      resolve(failed(e as NodeJS.ErrnoException, started));
      return;
    }
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    let errBytes = 0;
    let truncated = false;
    child.stdout?.on("data", (d: Buffer) => {
      if (outBytes + d.length > MAX_CAPTURE_BYTES) truncated = true;
      else out.push(d);
      outBytes += d.length;
    });
    child.stderr?.on("data", (d: Buffer) => {
      if (errBytes + d.length > MAX_CAPTURE_BYTES) truncated = true;
      else err.push(d);
      errBytes += d.length;
    });
    if (child.stdin) {
      child.stdin.on("error", () => undefined); // the child may not read its input
      child.stdin.end(o.input ?? "");
    }
    let timedOut = false;
    let cancelled = false;
    let killTimer: NodeJS.Timeout | undefined;
    const stop = () => {
      const pid = child.pid;
      if (pid === undefined) return;
      const kill = (sig: NodeJS.Signals) => {
        try {
          if (group) process.kill(-pid, sig);
          else child.kill(sig);
        } catch {
          /* already gone */
        }
      };
      kill("SIGTERM");
      killTimer ??= setTimeout(() => kill("SIGKILL"), o.killGraceMs ?? KILL_GRACE_MS);
    };
    const timer =
      o.timeoutMs && o.timeoutMs > 0
        ? setTimeout(() => {
            timedOut = true;
            stop();
          }, o.timeoutMs)
        : undefined;
    const onAbort = () => {
      cancelled = true;
      stop();
    };
    o.signal?.addEventListener("abort", onAbort, { once: true });
    let spawnError: NodeJS.ErrnoException | undefined;
    child.on("error", (e: NodeJS.ErrnoException) => {
      spawnError = e;
    });
    child.on("close", (code) => {
      if (timer) clearTimeout(timer);
      // The leader is gone, but members of its group that closed their
      // output may not be: they still get SIGKILL after the grace period.
      if (killTimer && group) killTimer.unref();
      else if (killTimer) clearTimeout(killTimer);
      o.signal?.removeEventListener("abort", onAbort);
      if (truncated) err.push(Buffer.from(`\npostfleet-agent: output truncated at ${MAX_CAPTURE_BYTES} bytes per stream\n`));
      resolve({
        // As postmulti computes it: WEXITSTATUS, or 1 when killed by a signal.
        exitCode: spawnError ? 1 : (code ?? 1),
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
        durationMs: Date.now() - started,
        ...(spawnError ? { spawnError } : {}),
        timedOut,
        cancelled,
        truncated,
      });
    });
  });
}

/** which() for names that may hold escaped non-UTF-8 bytes (see bytes.ts). */
function whichBytes(name: string, path: string | undefined): boolean {
  if (name.includes("/")) return existsSync(encodeEscaped(name));
  return (path ?? "").split(delimiter).some((dir) => existsSync(encodeEscaped(join(dir || ".", name))));
}
