// Process execution for the agent. Synchronous on purpose: postmulti runs one
// command at a time, and the serve loop handles one request at a time.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { delimiter, join } from "node:path";
import { encodeEscaped, hasEscapes, trampoline } from "./bytes.js";

export type Env = Record<string, string>;

export interface RunResult {
  /** Exit status as postmulti computes it: WEXITSTATUS, or 1 when killed by a signal. */
  exitCode: number;
  stdout: string;
  stderr: string;
  durationMs: number;
  /** The program could not be executed at all (execvp failed). */
  spawnError?: NodeJS.ErrnoException;
  timedOut: boolean;
}

export interface RunOptions {
  env: Env;
  /** Capture stdout/stderr (structured mode) instead of passing them through. */
  capture: boolean;
  timeoutMs?: number;
  /** Data for the child's stdin (capture mode); else /dev/null or the agent's own stdin. */
  input?: string;
  /** Capture stdout only, pass stderr through (postconf under plain postmulti). */
  stderrThrough?: boolean;
}

export function run(argv: string[], o: RunOptions): RunResult {
  const started = Date.now();
  if (!argv[0]) {
    // execvp("") fails with ENOENT; Node refuses an empty file name outright.
    const spawnError = Object.assign(new Error("spawnSync ENOENT"), { code: "ENOENT" }) as NodeJS.ErrnoException;
    return { exitCode: 1, stdout: "", stderr: "", durationMs: 0, spawnError, timedOut: false };
  }
  // Arguments with bytes that are not UTF-8 go through a shell that rebuilds them.
  if (argv.some(hasEscapes)) {
    const program = argv[0]!;
    if (!whichBytes(program, o.env.PATH)) {
      const spawnError = Object.assign(new Error("spawnSync ENOENT"), { code: "ENOENT" }) as NodeJS.ErrnoException;
      return { exitCode: 1, stdout: "", stderr: "", durationMs: 0, spawnError, timedOut: false };
    }
    argv = trampoline(argv, o.env.PWD !== undefined);
  }
  const r = spawnSync(argv[0]!, argv.slice(1), {
    env: o.env,
    stdio: o.stderrThrough ? ["inherit", "pipe", "inherit"] : o.capture ? ["pipe", "pipe", "pipe"] : "inherit",
    input: o.capture && !o.stderrThrough ? (o.input ?? "") : undefined,
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
    timeout: o.timeoutMs,
    killSignal: "SIGTERM",
  });
  const durationMs = Date.now() - started;
  const err = r.error as NodeJS.ErrnoException | undefined;
  const timedOut = err?.code === "ETIMEDOUT";
  const spawnError = err && !timedOut ? err : undefined;
  const exitCode = r.status ?? 1;
  return {
    exitCode,
    stdout: typeof r.stdout === "string" ? r.stdout : "",
    stderr: typeof r.stderr === "string" ? r.stderr : "",
    durationMs,
    spawnError,
    timedOut,
  };
}

/** Find a program on a PATH string, like execvp(3) would. */
export function which(name: string, path: string | undefined): string | null {
  if (name.includes("/")) return existsSync(name) ? name : null;
  for (const dir of (path ?? "").split(delimiter)) {
    const p = join(dir || ".", name);
    if (existsSync(p)) return p;
  }
  return null;
}

/** which() for names that may hold escaped non-UTF-8 bytes (see bytes.ts). */
function whichBytes(name: string, path: string | undefined): boolean {
  if (name.includes("/")) return existsSync(encodeEscaped(name));
  return (path ?? "").split(delimiter).some((dir) => existsSync(encodeEscaped(join(dir || ".", name))));
}

/** Copy of the process environment without undefined values. */
export function processEnv(): Env {
  const env: Env = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  return env;
}
