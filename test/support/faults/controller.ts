// The controller under test: dist/cli.js as a child process we can signal
// (SIGINT, SIGTERM, SIGKILL) at a chosen point, with a hard time limit so a
// hung run fails its case instead of the suite.
import { spawnCli } from "../cli.js";

export interface ControllerRun {
  pid: number;
  /** Resolves when the process has exited. */
  done: Promise<ControllerResult>;
  signal(sig: NodeJS.Signals): void;
}

export interface ControllerResult {
  exitCode: number | null;
  /** The signal that ended it, if any. */
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
  /** It outlived `limitMs` and was killed by the harness. */
  hung: boolean;
}

export function startController(args: string[], o: { env?: Record<string, string>; limitMs?: number } = {}): ControllerRun {
  const t0 = Date.now();
  // The agent started for the run, unless a case asks for the resident one (resident.faults.test.ts):
  // the other cases check that nothing of the run stays on a host.
  const child = spawnCli(args, { env: { POSTFLEET_AGENT_PERSIST: "0", ...o.env } });
  let stdout = "";
  let stderr = "";
  let hung = false;
  child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const limit = setTimeout(() => {
    hung = true;
    child.kill("SIGKILL");
  }, o.limitMs ?? 90_000);
  const done = new Promise<ControllerResult>((resolve) => {
    child.on("close", (exitCode, signal) => {
      clearTimeout(limit);
      resolve({ exitCode, signal, stdout, stderr, ms: Date.now() - t0, hung });
    });
  });
  return { pid: child.pid!, done, signal: (sig) => void child.kill(sig) };
}

/** The --json document of a run, or null when stdout holds none (a killed controller prints nothing). */
export function docOf(r: ControllerResult): any | null {
  try {
    return JSON.parse(r.stdout);
  } catch {
    return null;
  }
}

/** The documented exit code for a run document: 4 aborted, 2 some failed, 3 some unreachable, else 0. */
export function documentedExit(doc: { aborted?: boolean; summary: { failed: number; unreachable: number } }): number {
  if (doc.aborted) return 4;
  if (doc.summary.failed > 0) return 2;
  if (doc.summary.unreachable > 0) return 3;
  return 0;
}
