// Live progress for long runs: one line on stderr, rewritten in place, only
// when stderr is a terminal (never with --json or in pipes/CI logs).
import type { HostOutcome } from "./document.js";

export interface Progress {
  hostStarted(host: string): void;
  hostDone(outcome: HostOutcome): void;
  /** Print a line above the progress line (e.g. a finished host's results). */
  print(text: string): void;
  stop(): void;
}

export function createProgress(total: number, enabled: boolean, stream: NodeJS.WriteStream = process.stderr): Progress {
  const running = new Set<string>();
  let done = 0;
  let failed = 0;
  let shown = false;
  const started = Date.now();
  const clear = () => {
    if (shown) stream.write("\r\x1b[K");
    shown = false;
  };
  const draw = () => {
    if (!enabled) return;
    const secs = Math.round((Date.now() - started) / 1000);
    const names = [...running].slice(0, 3).join(", ") + (running.size > 3 ? ", ..." : "");
    const line = `[${done}/${total}] ${secs}s${failed ? `, ${failed} failed` : ""}${names ? ` - running: ${names}` : ""}`;
    const width = stream.columns ?? 80;
    stream.write(`\r\x1b[K${line.slice(0, width - 1)}`);
    shown = true;
  };
  const timer = enabled ? setInterval(draw, 1000) : undefined;
  timer?.unref();
  return {
    hostStarted(host) {
      running.add(host);
      draw();
    },
    hostDone(o) {
      running.delete(o.host);
      done++;
      if (o.status === "failed" || o.status === "unreachable") failed++;
      draw();
    },
    print(text) {
      clear();
      process.stdout.write(text);
      draw();
    },
    stop() {
      if (timer) clearInterval(timer);
      clear();
    },
  };
}
