// What every serve-mode request handler gets from the serve loop (protocol 2).
import type { Env } from "./system.js";

export interface RequestContext {
  /** The agent's process environment. */
  env: Env;
  /** Aborted when the request is cancelled or its timeout passes: stop, kill children, answer with what was done. */
  signal: AbortSignal;
  /** Per-command timeout for commands this request runs (0/undefined: none). */
  timeoutMs?: number;
  /** How long to wait for the host lock when this agent does not hold it already. */
  lockTimeoutMs: number;
  /**
   * Run `body` under the host's configuration lock: at once when this agent
   * holds it through a `lock` request, else taken for `body` alone (waiting at
   * most lockTimeoutMs; error code "lock"). Not taken when not root.
   */
  withHostLock<T>(what: string, body: () => Promise<T>): Promise<T>;
}
