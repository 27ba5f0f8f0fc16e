// What every serve-mode request handler gets from the serve loop (protocol 2).
import type { Env } from "../system/process.js";

export interface RequestContext {
  /** The agent's process environment. */
  env: Env;
  /**
   * Aborted when the request is cancelled (reason: a string saying so): kill
   * running commands (spawnCommand's `signal`), start no new ones, and answer
   * with what was done and error code "cancelled". The serve loop sets that
   * code itself on the answer of a cancelled request.
   */
  signal: AbortSignal;
  /** The request's timeoutMs: per command for postmulti and service (spawnCommand's `timeoutMs`); 0/undefined: none. */
  timeoutMs?: number;
  /** How long to wait for the host lock when this agent does not hold it already. */
  lockTimeoutMs: number;
  /**
   * Run `body` under the host's configuration lock: at once when this agent
   * holds it through a `lock` request, else taken for `body` alone (waiting at
   * most lockTimeoutMs; error code "lock"; "cancelled" when cancelled while
   * waiting). Not taken when not root.
   */
  withHostLock<T>(what: string, body: () => Promise<T>): Promise<T>;
}
