// The postqueue -j stream reader of the `queue` request: counts per queue,
// the oldest deferred message, bounded normalized delay reasons, and a large
// stream read line by line.
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { normalizeReason, QueueStats, readQueueStream } from "../../../../src/agent/requests/queue.js";

const msg = (queue: string, arrival: number, reasons: (string | undefined)[] = []) =>
  JSON.stringify({
    queue_name: queue,
    queue_id: "4F1A22C0B1",
    arrival_time: arrival,
    message_size: 512,
    forced_expire: false,
    sender: "a@example.org",
    recipients: reasons.map((r, i) => ({ address: `r${i}@example.net`, ...(r !== undefined ? { delay_reason: r } : {}) })),
  });

describe("QueueStats", () => {
  it("counts each queue, the oldest deferred message and the distinct delay reasons", () => {
    const s = new QueueStats();
    for (const l of [
      msg("active", 100),
      msg("incoming", 50),
      msg("deferred", 1000, ["connect to 127.0.0.1[127.0.0.1]:10026: Connection refused"]),
      msg("deferred", 900, ["connect to  127.0.0.1[127.0.0.1]:10026:\tConnection refused", undefined]),
      msg("deferred", 950, ["host mx.example.net said: 451 4.7.1 greylisted, try later (id=A1B2C3D4E5) (in reply to RCPT TO command)"]),
      msg("hold", 10),
      msg("maildrop", 20),
      msg("corrupt", 30),
      "",
      "postqueue: warning: not JSON",
      "[1,2]",
    ])
      s.feed(l);
    expect(s.counts).toEqual({ active: 1, incoming: 1, deferred: 3, hold: 1, maildrop: 1 });
    expect(s.other).toBe(1);
    expect(s.badLines).toBe(2);
    expect(s.oldestDeferredS(1500)).toBe(600);
    expect(s.delayReasons()).toEqual([
      "connect to 127.0.0.1[127.0.0.1]:10026: Connection refused",
      "host mx.example.net said: 451 4.7.1 greylisted, try later (id=#) (in reply to RCPT TO command)",
    ]);
    expect(s.reasonsTruncated).toBe(false);
  });

  it("no deferred message: no age", () => {
    const s = new QueueStats();
    s.feed(msg("active", 100));
    expect(s.oldestDeferredS(200)).toBeNull();
  });

  it("keeps at most maxReasons distinct reasons and says that more were seen", () => {
    const s = new QueueStats(3);
    for (let i = 0; i < 10; i++) s.feed(msg("deferred", 1, [`connect to host${i}.example.net[192.0.2.${i}]:25: Connection timed out`]));
    expect(s.delayReasons()).toHaveLength(3);
    expect(s.reasonsTruncated).toBe(true);
    // A reason already kept is no new one.
    const t = new QueueStats(1);
    t.feed(msg("deferred", 1, ["a"]));
    t.feed(msg("deferred", 1, ["a"]));
    expect(t.reasonsTruncated).toBe(false);
  });

  it("normalises: whitespace, identifiers with digits, length", () => {
    expect(normalizeReason("  lost  connection\nwith x ")).toBe("lost connection with x");
    expect(normalizeReason("queue file 3F2A1B00C9D8 busy")).toBe("queue file # busy");
    expect(normalizeReason("Connection refused")).toBe("Connection refused");
    expect(normalizeReason("x".repeat(500))).toHaveLength(200);
  });
});

describe("readQueueStream", () => {
  it("reads 300 000 messages in chunks that split lines, without keeping them", async () => {
    const N = 300_000;
    let i = 0;
    // Lines cut at odd places: 7000-byte chunks never align with lines.
    let pending = "";
    const stream = new Readable({
      read() {
        while (pending.length < 7000 && i < N) {
          const q = i % 10 === 0 ? "deferred" : i % 10 === 1 ? "active" : i % 10 === 2 ? "hold" : "incoming";
          pending += msg(q, 2_000_000 - i, q === "deferred" ? [`reason ${(i / 10) % 40}`] : []) + "\n";
          i++;
        }
        if (!pending.length) return void this.push(null);
        const n = Math.min(7000, pending.length);
        this.push(pending.slice(0, n));
        pending = pending.slice(n);
      },
    });
    const heapBefore = process.memoryUsage().heapUsed;
    const s = await readQueueStream(stream, new QueueStats());
    expect(s.counts).toEqual({ active: N / 10, incoming: (N / 10) * 7, deferred: N / 10, hold: N / 10, maildrop: 0 });
    expect(s.badLines).toBe(0);
    // The oldest deferred message is the last deferred one of the stream (i = N - 10).
    expect(s.oldestDeferredS(2_000_000)).toBe(N - 10);
    expect(s.delayReasons()).toHaveLength(20);
    expect(s.reasonsTruncated).toBe(true);
    // ~60 MB went through; what stays is bounded (generous margin for GC timing).
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(40 * 1024 * 1024);
  });
});
