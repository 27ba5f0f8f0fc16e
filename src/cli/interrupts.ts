// Ctrl-C, SIGTERM and SIGHUP wired to the engine's orderly stop.
import { EXIT } from "../orchestrator/run-document.js";
import type { FleetRun } from "../orchestrator/fleet-run.js";

/**
 * First Ctrl-C: start nothing new, let work in progress finish. Second: cancel
 * and quit, naming the hosts. SIGTERM and SIGHUP (a service manager stopping
 * us, a closed terminal) count as Ctrl-C: without this Node.js would die at
 * once, with no report, no exit code of ours and hosts left mid-operation.
 */
export function wireInterrupts(run: FleetRun, stop: AbortController, hardStop: AbortController): void {
  let interrupts = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    interrupts++;
    if (interrupts === 1) {
      const by = sig === "SIGINT" ? "" : ` (${sig})`;
      process.stderr.write(`\npostfleet: interrupted${by}: finishing the work in progress, starting nothing new (Ctrl-C again to quit now)\n`);
      stop.abort();
      return;
    }
    const busy = run.inFlight();
    process.stderr.write(
      busy.length
        ? `postfleet: quitting now; these hosts may be left mid-operation: ${busy.map((b) => `${b.host} (${b.doing})`).join(", ")}\n`
        : "postfleet: quitting now\n",
    );
    hardStop.abort();
    // Give the cancel requests a moment to reach the agents, then go.
    setTimeout(() => process.exit(EXIT.aborted), 300).unref();
  };
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(sig, onSignal);
}
