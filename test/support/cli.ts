// Run the built CLI (dist/cli.js) as a user would, capturing everything.
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";

export interface CliResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

export const CLI = join(import.meta.dirname, "..", "..", "dist", "cli.js");

/**
 * The one way tests start the CLI: dist/cli.js under this Node.js, NO_COLOR,
 * stdout and stderr piped (`ignoreOutput`: discarded, for runs a test kills).
 */
export function spawnCli(args: string[], o: { env?: Record<string, string>; cwd?: string; ignoreOutput?: boolean } = {}): ChildProcess {
  return spawn(process.execPath, [CLI, ...args], {
    cwd: o.cwd,
    env: { ...process.env, NO_COLOR: "1", ...o.env },
    stdio: o.ignoreOutput ? "ignore" : ["ignore", "pipe", "pipe"],
  });
}

export function postfleet(
  args: string[],
  o: { env?: Record<string, string>; cwd?: string; onSpawn?: (kill: (sig: NodeJS.Signals) => void) => void } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawnCli(args, o);
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (exitCode) => resolve({ exitCode, stdout, stderr }));
    o.onSpawn?.((sig) => child.kill(sig));
  });
}

/** Parse --json output: exactly one JSON document and nothing else on stdout. */
export function jsonOf(r: CliResult): any {
  try {
    return JSON.parse(r.stdout);
  } catch {
    throw new Error(`stdout is not one JSON document (exit ${r.exitCode}):\n${r.stdout}\nstderr:\n${r.stderr}`);
  }
}
