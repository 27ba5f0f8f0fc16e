// What the agent needs from its own process: the environment, PATH lookup,
// and the shape of a finished command (spawn-command.ts runs them).
import { existsSync } from "node:fs";
import { delimiter, join } from "node:path";
import type { CommandOutput } from "../../protocol/index.js";

export type Env = Record<string, string>;

export interface RunResult extends CommandOutput {
  /** The program could not be executed at all (execvp failed). */
  spawnError?: NodeJS.ErrnoException;
  timedOut: boolean;
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

/** Copy of the process environment without undefined values. */
export function processEnv(): Env {
  const env: Env = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  return env;
}
