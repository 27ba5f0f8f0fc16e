// Live progress for long runs: one line on stderr, rewritten in place, only
// when stderr is a terminal (never with --json or in pipes/CI logs). It
// watches the run's events; the engine never prints.
import type { RunEvents } from "../orchestrator/events.js";

/** Show progress for the run's hosts; returns the function that removes the line. */
export function attachProgress(events: RunEvents, total: number, enabled: boolean, stream: NodeJS.WriteStream = process.stderr): () => void {
  if (!enabled) return () => undefined;
  const running = new Set<string>();
  let done = 0;
  let failed = 0;
  let shown = false;
  let batch = "";
  const started = Date.now();
  const draw = () => {
    const secs = Math.round((Date.now() - started) / 1000);
    const names = [...running].slice(0, 3).join(", ") + (running.size > 3 ? ", ..." : "");
    const line = `[${done}/${total}] ${secs}s${batch}${failed ? `, ${failed} failed` : ""}${names ? ` - running: ${names}` : ""}`;
    const width = stream.columns ?? 80;
    stream.write(`\r\x1b[K${line.slice(0, width - 1)}`);
    shown = true;
  };
  const off = events.on((e) => {
    if (e.type === "host-started") running.add(e.host);
    else if (e.type === "host-finished") {
      running.delete(e.outcome.host);
      done++;
      if (e.outcome.status === "failed" || e.outcome.status === "unreachable") failed++;
    } else if (e.type === "batch-started") batch = `, batch ${e.batch + 1}`;
    else return;
    draw();
  });
  const timer = setInterval(draw, 1000);
  timer.unref();
  return () => {
    off();
    clearInterval(timer);
    if (shown) stream.write("\r\x1b[K");
  };
}
