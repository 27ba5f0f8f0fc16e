// Runs one piece of work per host, at most `forks` hosts at a time, in the
// inventory's order, and collects one outcome per host. An abort (Ctrl-C)
// stops new hosts from starting; hosts already running finish their current
// work so no instance is left half-done, and the rest are reported "skipped".
import pLimit from "p-limit";
import type { HostOutcome } from "../report/document.js";

export interface FleetOptions {
  forks: number;
  signal?: AbortSignal;
  /** Called when a host starts and when it ends (for progress display). */
  onHostStart?: (host: string) => void;
  onHostDone?: (outcome: HostOutcome) => void;
}

export type HostWork = (host: string) => Promise<HostOutcome>;

export async function runOnHosts(hosts: readonly string[], work: HostWork, o: FleetOptions): Promise<HostOutcome[]> {
  const limit = pLimit(Math.max(1, o.forks));
  return Promise.all(
    hosts.map((host) =>
      limit(async (): Promise<HostOutcome> => {
        if (o.signal?.aborted) {
          return { host, status: "skipped", error: "run aborted before this host was reached", results: [], durationMs: 0 };
        }
        o.onHostStart?.(host);
        const started = performance.now();
        let outcome: HostOutcome;
        try {
          outcome = await work(host);
        } catch (err) {
          // A bug in the work function must not take the other hosts down.
          outcome = { host, status: "failed", error: errorText(err), results: [], durationMs: 0 };
        }
        outcome.durationMs ||= Math.round(performance.now() - started);
        o.onHostDone?.(outcome);
        return outcome;
      }),
    ),
  );
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
