// `queue` requests: one instance's queues read from `postqueue -c DIR -j`
// as a stream, one JSON object per message per line. A queue can hold
// millions of messages, so nothing is kept per message: counts per queue, the
// oldest deferred arrival time, and a bounded set of normalized delay_reason
// texts. postqueue runs in its own process group, killed on cancel/timeout.
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { KILL_GRACE_MS, QUEUE_GATE_QUEUES, QUEUE_MAX_REASONS, type QueueGateQueue, type QueueRequest, type QueueResponse } from "../../protocol/index.js";
import type { RequestContext } from "../serve/request-context.js";
import { abortError, requestInstance, RequestError, toAgentError, unknownInstance } from "./request-instance.js";

const REASON_MAX_CHARS = 200;
const STDERR_MAX_CHARS = 4096;

/** A delay_reason as the gate compares it: whitespace collapsed, long identifiers (8+ characters with a digit) as "#", at most 200 characters. */
export function normalizeReason(text: string): string {
  const s = text
    .replace(/\s+/g, " ")
    .trim()
    .replace(/\b(?=[0-9A-Za-z]*\d)[0-9A-Za-z]{8,}\b/g, "#");
  return s.length > REASON_MAX_CHARS ? `${s.slice(0, REASON_MAX_CHARS - 1)}…` : s;
}

/** The running figures of one postqueue -j stream; feed() one line at a time. */
export class QueueStats {
  readonly counts: Record<QueueGateQueue, number> = { active: 0, incoming: 0, deferred: 0, hold: 0, maildrop: 0 };
  other = 0;
  badLines = 0;
  reasonsTruncated = false;
  private oldestDeferred: number | null = null;
  private readonly reasons = new Set<string>();

  constructor(private readonly maxReasons = QUEUE_MAX_REASONS) {}

  feed(line: string): void {
    if (!line.trim()) return;
    let m: unknown;
    try {
      m = JSON.parse(line);
    } catch {
      this.badLines++;
      return;
    }
    if (m === null || typeof m !== "object" || Array.isArray(m)) {
      this.badLines++;
      return;
    }
    const msg = m as { queue_name?: unknown; arrival_time?: unknown; recipients?: unknown };
    const q = msg.queue_name;
    if (typeof q === "string" && (QUEUE_GATE_QUEUES as readonly string[]).includes(q)) this.counts[q as QueueGateQueue]++;
    else this.other++;
    if (q === "deferred" && typeof msg.arrival_time === "number" && (this.oldestDeferred === null || msg.arrival_time < this.oldestDeferred)) this.oldestDeferred = msg.arrival_time;
    if (!Array.isArray(msg.recipients)) return;
    for (const r of msg.recipients) {
      const why = (r as { delay_reason?: unknown } | null)?.delay_reason;
      if (typeof why !== "string" || !why.trim()) continue;
      const n = normalizeReason(why);
      if (this.reasons.has(n)) continue;
      if (this.reasons.size >= this.maxReasons) this.reasonsTruncated = true;
      else this.reasons.add(n);
    }
  }

  /** Age in seconds of the oldest deferred message at `nowS` (epoch seconds). */
  oldestDeferredS(nowS = Date.now() / 1000): number | null {
    return this.oldestDeferred === null ? null : Math.max(0, Math.round(nowS - this.oldestDeferred));
  }

  delayReasons(): string[] {
    return [...this.reasons];
  }
}

/** Read a postqueue -j stream to its end, line by line. */
export async function readQueueStream(input: Readable, stats: QueueStats): Promise<QueueStats> {
  const rl = createInterface({ input, crlfDelay: Infinity, terminal: false });
  for await (const line of rl) stats.feed(line);
  return stats;
}

/** postqueue -c DIR -j into `stats`; rejects with postqueue's own words when it fails. */
function streamPostqueue(argv: string[], ctx: RequestContext, stats: QueueStats): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { env: ctx.env, stdio: ["ignore", "pipe", "pipe"], detached: true });
    let stderr = "";
    let killed: "cancelled" | "timeout" | null = null;
    const kill = (why: "cancelled" | "timeout") => {
      if (killed || child.exitCode !== null) return;
      killed = why;
      const group = (sig: NodeJS.Signals) => {
        try {
          if (child.pid) process.kill(-child.pid, sig);
        } catch {
          /* gone */
        }
      };
      group("SIGTERM");
      setTimeout(() => group("SIGKILL"), KILL_GRACE_MS).unref();
    };
    const onAbort = () => kill("cancelled");
    ctx.signal.addEventListener("abort", onAbort, { once: true });
    const timer = ctx.timeoutMs ? setTimeout(() => kill("timeout"), ctx.timeoutMs) : undefined;
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (d: string) => {
      if (stderr.length < STDERR_MAX_CHARS) stderr += d.slice(0, STDERR_MAX_CHARS - stderr.length);
    });
    const reading = readQueueStream(child.stdout, stats);
    child.on("error", (e) => {
      clearTimeout(timer);
      ctx.signal.removeEventListener("abort", onAbort);
      reject(new RequestError(`cannot run ${argv[0]}: ${e.message}`));
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      ctx.signal.removeEventListener("abort", onAbort);
      void reading.then(() => {
        if (killed === "timeout") reject(new RequestError(`${argv.join(" ")}: timed out after ${ctx.timeoutMs} ms`, "timeout"));
        else if (killed === "cancelled") {
          const e = abortError(ctx.signal, "postqueue -j");
          reject(new RequestError(e.message, e.code));
        } else if (code !== 0) {
          // "Mail system is down -- accessing queue directly" is a warning: only a non-zero exit fails.
          const said = stderr.split("\n").map((l) => l.trim()).filter(Boolean).join("; ");
          reject(new RequestError(`${argv.join(" ")}: ${said || (signal ? `killed by ${signal}` : `exit ${code}`)}`));
        } else resolve();
      }, reject);
    });
  });
}

export async function handleQueue(req: QueueRequest, ctx: RequestContext): Promise<QueueResponse> {
  const started = Date.now();
  const stats = new QueueStats(Number.isInteger(req.maxReasons) && req.maxReasons! > 0 ? req.maxReasons : QUEUE_MAX_REASONS);
  const answer: QueueResponse = {
    id: req.id,
    op: "queue",
    instance: unknownInstance(String(req.instance)),
    counts: stats.counts,
    other: 0,
    oldestDeferredS: null,
    delayReasons: [],
    reasonsTruncated: false,
    badLines: 0,
    durationMs: 0,
  };
  try {
    const ri = await requestInstance(ctx.env, req.instance);
    answer.instance = ri.info;
    await streamPostqueue([`${ri.primary.commandDir}/postqueue`, "-c", ri.instance.configDir, "-j"], ctx, stats);
    Object.assign(answer, {
      other: stats.other,
      oldestDeferredS: stats.oldestDeferredS(),
      delayReasons: stats.delayReasons(),
      reasonsTruncated: stats.reasonsTruncated,
      badLines: stats.badLines,
    });
  } catch (e) {
    answer.error = toAgentError(e);
  }
  answer.durationMs = Date.now() - started;
  return answer;
}
