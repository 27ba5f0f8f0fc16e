// What one postmulti invocation runs with, and what it produces.
import type { AgentError, Effect, InstanceResult } from "../protocol/index.js";
import type { Env } from "./system.js";

export interface RunContext {
  /** The caller's environment (postmulti's own process environment). */
  env: Env;
  /** Structured mode (--json / --serve): capture output, idempotent semantics. */
  structured: boolean;
  dryRun: boolean;
  /** Per-command timeout (structured mode). */
  timeoutMs?: number;
  lockTimeoutMs: number;
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
