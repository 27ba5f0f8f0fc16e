// Queue gates, soaks and deadlines in playbooks: the settings the executor
// gets (durations in ms, the healthy deadline's default), and bad values
// rejected at their file:line. The limits' messages and the soak's rounds as
// pure logic (a scripted round, no host).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { QueueResponse } from "../../../../src/protocol/index.js";
import { holdGate } from "../../../../src/orchestrator/steps/gate.js";
import { queueViolations } from "../../../../src/orchestrator/steps/queue-gate.js";
import type { StepContext } from "../../../../src/orchestrator/steps/step-context.js";
import type { InstanceStepResult } from "../../../../src/orchestrator/steps/step-results.js";
import { load, problems } from "../../../support/playbook-files.js";

const stepsOf = async (steps: string, play = "") => (await load(`- hosts: all\n${play}  steps:\n${steps}`)).plays[0]!;

describe("queue gate, soak and deadline settings", () => {
  it("a restart gate with queue limits and a soak; the deadline defaults to healthy_timeout + soak", async () => {
    const play = await stepsOf(
      "    - restart:\n" +
        "        healthy_timeout: 20s\n" +
        "        gate:\n" +
        "          queue: {max_active: 100, max_deferred: 50, max_deferred_growth: 0, max_oldest_deferred: 10m, no_new_delay_reason: true}\n" +
        "          soak: 30s\n" +
        "          interval: 5s\n" +
        "    - start: {gate: {soak: 10s, interval: 2s, healthy_deadline: 1m}}\n" +
        "    - wait: {queue: {max_incoming: 0}, soak: 6s, interval: 2s}\n",
      "  progress_deadline: 5m\n",
    );
    const [restart, start, wait] = Object.values(play.steps)[0]!;
    expect(restart).toMatchObject({
      gate: { queue: { maxActive: 100, maxDeferred: 50, maxDeferredGrowth: 0, maxOldestDeferredMs: 600_000, noNewDelayReason: true }, soakMs: 30_000, intervalMs: 5000, healthyDeadlineMs: 50_000 },
    });
    expect(start).toMatchObject({ gate: { soakMs: 10_000, intervalMs: 2000, healthyDeadlineMs: 60_000 } });
    expect(wait).toMatchObject({ type: "wait", checks: [], gate: { queue: { maxIncoming: 0 }, soakMs: 6000, intervalMs: 2000, healthyDeadlineMs: 66_000 } });
    expect(play.progressDeadlineMs).toBe(300_000);
  });

  it("rejects bad values at their place", async () => {
    const bad = async (steps: string, play = "") => problems(`- hosts: all\n${play}  steps:\n${steps}`);
    expect(await bad("    - restart: {gate: {soak: 30s, healthy_deadline: 10s}}\n")).toEqual([
      expect.stringMatching(/^pb\.yml:3:\d+: .*healthy_deadline \(10 s\) is shorter than the soak \(30 s\)/),
    ]);
    expect(await bad("    - restart: {gate: {soak: 30s, interval: 0}}\n")).toEqual([expect.stringMatching(/^pb\.yml:3:\d+: .*interval must be more than 0/)]);
    expect(await bad("    - restart: {gate: {soak: 5s, interval: 10s}}\n")).toEqual([expect.stringMatching(/^pb\.yml:3:\d+: .*interval \(10 s\) is longer than the soak \(5 s\)/)]);
    expect(await bad("    - restart: {gate: {interval: 10s}}\n")).toEqual([expect.stringMatching(/^pb\.yml:3:\d+: .*give soak \(or healthy_deadline\) too/)]);
    expect(await bad("    - restart:\n        gate:\n          queue: {}\n")).toEqual([expect.stringMatching(/^pb\.yml:5:\d+: .*a queue gate needs at least one of max_active/)]);
    expect(await bad("    - restart:\n        gate:\n          queue: {max_deferred: -1}\n")).toEqual([expect.stringMatching(/^pb\.yml:5:\d+: .*max_deferred/)]);
    expect(await bad("    - restart:\n        gate:\n          queue: {max_deferrd: 1}\n")).toContainEqual(expect.stringMatching(/^pb\.yml:5:\d+: unknown key 'max_deferrd' .*did you mean 'max_deferred'/));
    expect(await bad("    - wait: {queue: {max_oldest_deferred: soon}}\n")).toEqual([expect.stringMatching(/^pb\.yml:3:\d+: .*duration/)]);
    expect(await bad("    - wait: {master: true}\n", "  progress_deadline: later\n")).toEqual([expect.stringMatching(/^pb\.yml:2:\d+: .*duration/)]);
  });

  it("every example of the playbook guide's 'Mail-flow probes' section is a valid playbook, the gates' examples with their settings", async () => {
    const readme = readFileSync(join(import.meta.dirname, "..", "..", "..", "..", "docs", "playbooks.md"), "utf8");
    const section = /## Mail-flow probes([\s\S]*?)\n## /.exec(readme)![1]!;
    const examples = [...section.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
    expect(examples).toHaveLength(4);
    const plays = await Promise.all(examples.map(async (e) => (await load(e)).plays[0]!));
    const first = (i: number) => Object.values(plays[i]!.steps)[0]!;
    expect(first(1)[0]).toMatchObject({ type: "start", gate: { queue: { maxDeferredGrowth: 0, maxOldestDeferredMs: 600_000, noNewDelayReason: true }, soakMs: 30_000 } });
    expect(first(1)[1]).toMatchObject({ type: "wait", gate: { queue: { maxDeferred: 100, maxActive: 500 } } });
    expect(first(2)[0]).toMatchObject({ type: "restart", gate: { queue: { maxDeferredGrowth: 5 }, soakMs: 30_000, intervalMs: 5000, healthyDeadlineMs: 120_000 } });
    expect(plays[3]!.progressDeadlineMs).toBe(300_000);
  });
});

const reading = (deferred: number, reasons: string[] = [], oldest: number | null = null, extra: Partial<QueueResponse["counts"]> = {}): QueueResponse => ({
  id: 1,
  op: "queue",
  instance: { name: "postfix-out", group: "-", enabled: true, configDirectory: "/etc/postfix-out", primary: false },
  counts: { active: 0, incoming: 0, deferred, hold: 0, maildrop: 0, ...extra },
  other: 0,
  oldestDeferredS: oldest,
  delayReasons: reasons,
  reasonsTruncated: false,
  badLines: 0,
  durationMs: 1,
});

describe("queueViolations", () => {
  it("names the instance, the figure, the limit and the value", () => {
    const refused = "connect to 127.0.0.1[127.0.0.1]:2599: Connection refused";
    const v = queueViolations("postfix-out", reading(3, [refused], 720, { active: 9 }), reading(0), {
      maxActive: 5,
      maxDeferredGrowth: 0,
      maxOldestDeferredMs: 600_000,
      noNewDelayReason: true,
    });
    expect(v).toEqual([
      "queue of postfix-out: 9 active, more than max_active 5",
      "queue of postfix-out: oldest deferred message 720 s old, more than max_oldest_deferred 600 s",
      "queue of postfix-out: deferred grew by 3 (0 before the step, 3 now), more than max_deferred_growth 0",
      `queue of postfix-out: 1 new delay reason since before the step, with no_new_delay_reason set: ${JSON.stringify(refused)}`,
    ]);
  });

  it("within the limits: nothing; a known reason is no new one; growth needs the reading before", () => {
    expect(queueViolations("postfix-out", reading(2, ["x"]), reading(1, ["x"]), { maxDeferredGrowth: 1, noNewDelayReason: true, maxDeferred: 2 })).toEqual([]);
    expect(queueViolations("postfix-out", reading(2), "no reading before the step: postqueue: fatal", { maxDeferredGrowth: 1 })).toEqual([
      "queue of postfix-out: no reading before the step: postqueue: fatal (needed for max_deferred_growth / no_new_delay_reason)",
    ]);
  });
});

/** A StepContext for holdGate: only doing() and hardStop are used. */
const ctx = { doing: () => {}, hardStop: new AbortController().signal } as unknown as StepContext;
const ok: InstanceStepResult = { instance: "postfix-in", status: "ok", action: "healthy", durationMs: 0 };
const down: InstanceStepResult = { instance: "postfix-filter", status: "failed", action: "not healthy", error: "postfix-filter: master: not running", durationMs: 0 };

describe("holdGate (soak within the healthy deadline)", () => {
  it("passes once every round held for the soak", async () => {
    let n = 0;
    const r = await holdGate(ctx, async () => (n++, [ok]), { soakMs: 200, intervalMs: 50, deadlineMs: 2000 });
    expect(r[0]).toMatchObject({ instance: "(gate)", status: "ok", action: expect.stringMatching(/^held for the 0\.2 s soak/) });
    expect(n).toBeGreaterThanOrEqual(4);
  });

  it("a flap resets the soak clock; the gate fails once the soak can no longer complete before the deadline", async () => {
    let n = 0;
    const r = await holdGate(ctx, async () => (n++ === 3 ? [down] : [ok]), { soakMs: 300, intervalMs: 50, deadlineMs: 400 });
    expect(r[0]).toMatchObject({ instance: "(gate)", status: "failed" });
    expect(r[0]!.error).toMatch(/^gate failed after holding 0\.\d+ s of the 0\.3 s soak: postfix-filter: master: not running; the 0\.3 s soak cannot complete within healthy_deadline 0\.4 s$/);
    expect(r).toContainEqual(down);
  });

  it("a flap with time left: held again for a whole soak after it", async () => {
    let n = 0;
    const r = await holdGate(ctx, async () => (n++ === 2 ? [down] : [ok]), { soakMs: 150, intervalMs: 50, deadlineMs: 2000 });
    expect(r[0]).toMatchObject({ status: "ok", action: expect.stringMatching(/the soak clock was reset 1 time\)$/) });
  });

  it("healthy too late for a whole soak: fails at once, naming the failure before", async () => {
    let n = 0;
    // Failed at 0 ms (a whole soak still fits), healthy at 250 ms: 250 ms left, a soak needs 300.
    const r = await holdGate(ctx, async () => (n++ < 1 ? [down] : [ok]), { soakMs: 300, intervalMs: 250, deadlineMs: 500 });
    expect(r[0]!.error).toMatch(/^gate held for 0 s since its last failure \(postfix-filter: master: not running\), but the 0\.3 s soak cannot complete within healthy_deadline 0\.5 s$/);
    expect(n).toBe(2);
  });

  it("never healthy: fails at the deadline naming the last failure", async () => {
    const r = await holdGate(ctx, async () => [down], { soakMs: 0, intervalMs: 50, deadlineMs: 200 });
    expect(r[0]!.error).toMatch(/^gate did not hold within healthy_deadline 0\.2 s \(\d+ checks every 0\.05 s\): postfix-filter: master: not running$/);
  });
});
