// Heartbeats to the agent: how often and with which deadline, and one timer
// per interval for every open session of the process.
import { HEARTBEAT_DEADLINE_MIN_MS, HEARTBEAT_DEADLINE_MS, HEARTBEAT_INTERVAL_MS } from "../protocol/index.js";

export interface HeartbeatSettings {
  intervalMs: number;
  /** The silence after which the agent gives this controller up. */
  deadlineMs: number;
}

/**
 * HEARTBEAT_INTERVAL_MS and HEARTBEAT_DEADLINE_MS, unless POSTFLEET_AGENT_HEARTBEAT
 * ("INTERVAL_MS,DEADLINE_MS", for tests: e.g. "500,3000") says otherwise; a deadline
 * of less than twice the interval, or out of the agent's range, is refused.
 */
export function heartbeatSettings(env: NodeJS.ProcessEnv = process.env): HeartbeatSettings {
  const v = env.POSTFLEET_AGENT_HEARTBEAT;
  if (v === undefined || v === "") return { intervalMs: HEARTBEAT_INTERVAL_MS, deadlineMs: HEARTBEAT_DEADLINE_MS };
  const m = /^(\d+),(\d+)$/.exec(v.trim());
  const [intervalMs, deadlineMs] = m ? [Number(m[1]), Number(m[2])] : [0, 0];
  if (!m || intervalMs < 1 || deadlineMs < 2 * intervalMs || deadlineMs < HEARTBEAT_DEADLINE_MIN_MS || deadlineMs > 86_400_000)
    throw new Error(`POSTFLEET_AGENT_HEARTBEAT must be INTERVAL_MS,DEADLINE_MS with DEADLINE_MS >= 2 x INTERVAL_MS (and ${HEARTBEAT_DEADLINE_MIN_MS}..86400000), not ${JSON.stringify(v)}`);
  return { intervalMs, deadlineMs };
}

/** One timer per interval for every open session of the process, however many hosts. */
class HeartbeatTicker {
  private readonly beats = new Set<() => void>();
  private timer: NodeJS.Timeout | undefined;
  constructor(private readonly intervalMs: number) {}

  /** Beat now and at every tick until the returned function is called. */
  add(beat: () => void): () => void {
    beat();
    this.beats.add(beat);
    if (!this.timer) {
      this.timer = setInterval(() => {
        for (const b of this.beats) b();
      }, this.intervalMs);
      this.timer.unref();
    }
    return () => {
      this.beats.delete(beat);
      if (this.beats.size === 0) {
        clearInterval(this.timer);
        this.timer = undefined;
      }
    };
  }
}
const tickers = new Map<number, HeartbeatTicker>();

/** The shared ticker for this interval. */
export function heartbeatTicker(intervalMs: number): { add(beat: () => void): () => void } {
  let ticker = tickers.get(intervalMs);
  if (!ticker) tickers.set(intervalMs, (ticker = new HeartbeatTicker(intervalMs)));
  return ticker;
}
