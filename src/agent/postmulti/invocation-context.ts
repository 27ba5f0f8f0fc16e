// What one postmulti invocation runs with, and what it produces: shared by
// the start-up and iterator code (postmulti.ts) and the life-cycle code
// (lifecycle.ts), which postmulti.ts dispatches to.
import type { AgentError, Effect, InstanceResult } from "../../protocol/index.js";
import type { ClaimTable, InstanceReader, PrimaryConfig } from "./instances.js";
import type { PostmultiOptions } from "./options.js";
import type { Env } from "../system/process.js";

export interface InvocationContext {
  /** The caller's environment (postmulti's own process environment). */
  env: Env;
  /** Structured mode (--json / --serve): capture output, idempotent semantics. */
  structured: boolean;
  dryRun: boolean;
  /** Per-command timeout (structured mode): the command's process group is killed. */
  timeoutMs?: number;
  lockTimeoutMs: number;
  /** Serve mode: aborted when the request is cancelled; the running command is killed, no further one starts. */
  signal?: AbortSignal;
  /**
   * Run a configuration edit under the host lock (called as root, not in dry
   * run): taken for `body` alone, or, in serve mode, the one a `lock` request holds.
   */
  withHostLock<T>(what: string, body: () => Promise<T>): Promise<T>;
  /** Plain mode: where postmulti's diagnostics go as they happen. */
  stderr(line: string): void;
  /** Plain mode: postmulti's own standard output (-l). */
  stdout(text: string): void;
}

export interface Outcome {
  exitCode: number;
  results: InstanceResult[];
  warnings: string[];
  error?: AgentError;
  effects?: Effect[];
  /** What postmulti itself printed on stdout (the -l listing). */
  stdout: string;
}

/** One postmulti invocation: everything the iterator and life-cycle code share. */
export interface Invocation {
  ctx: InvocationContext;
  opts: PostmultiOptions;
  primary: PrimaryConfig;
  claims: ClaimTable;
  /** postmulti's process environment (caller's + logging + MAIL_VERBOSE). */
  base: Env;
  warnings: string[];
  readInstance: InstanceReader;
}

/** The error text of a cancelled invocation: the serve loop's reason and how far it got. */
export function cancelledMessage(signal: AbortSignal, done: number, total: number): string {
  const why = typeof signal.reason === "string" ? signal.reason : "cancelled";
  return `${why}: ${done} of ${total} instance(s) reached`;
}
