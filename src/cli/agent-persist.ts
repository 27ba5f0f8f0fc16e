// --agent-persist: how long each host's agent stays up after the run.
import { UsageError, type HostArgs } from "./host-args.js";

/**
 * How long each host's agent stays up after the run, idle, for the next run:
 * a few minutes by default, as ControlPersist keeps ssh connections (a Node.js
 * start per host is most of a short run's time). 0 turns it off.
 */
export const DEFAULT_AGENT_PERSIST_S = 300;
/** The longest idle time a resident agent keeps (the agent caps it too): its right is re-judged at each use, not its standing. */
export const MAX_AGENT_PERSIST_S = 3600;

/** --agent-persist, else $POSTFLEET_AGENT_PERSIST, else the default, in ms (0: no resident agent). */
export function agentPersistMs(args: HostArgs): number {
  const env = process.env.POSTFLEET_AGENT_PERSIST;
  const raw = args["agent-persist"] ?? (env !== undefined && env !== "" ? Number(env) : DEFAULT_AGENT_PERSIST_S);
  if (!Number.isFinite(raw) || raw < 0 || raw > MAX_AGENT_PERSIST_S) {
    throw new UsageError(`--agent-persist (or POSTFLEET_AGENT_PERSIST) must be a number of seconds from 0 to ${MAX_AGENT_PERSIST_S}, not ${String(args["agent-persist"] ?? process.env.POSTFLEET_AGENT_PERSIST)}`);
  }
  return Math.round(raw * 1000);
}
