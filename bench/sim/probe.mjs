// Preloaded into the controller for the scale case (node --import):
// the event loop's delay (perf_hooks monitorEventLoopDelay, 10 ms resolution)
// and the process's own CPU time and peak resident set, written as JSON at
// exit to the file named by POSTFLEET_SIM_PROBE.
import { writeFileSync } from "node:fs";
import { monitorEventLoopDelay } from "node:perf_hooks";

const out = process.env.POSTFLEET_SIM_PROBE;
if (out) {
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  process.on("exit", () => {
    h.disable();
    const ru = process.resourceUsage();
    const ms = (ns) => +(ns / 1e6).toFixed(1);
    writeFileSync(
      out,
      JSON.stringify({
        eventLoopDelayMs: { mean: ms(h.mean), p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), max: ms(h.max) },
        cpuMs: Math.round((ru.userCPUTime + ru.systemCPUTime) / 1000),
        maxRssMB: +(ru.maxRSS / 1024).toFixed(1),
      }),
    );
  });
}
