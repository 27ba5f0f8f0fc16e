// Probe settings in playbooks: `wait: {probe}` and `gate: {probe}` on start/restart/reload
// become the executor's settings (defaults filled in, durations in ms); bad shapes are
// rejected at their place. The README's example loads as written.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { load, problems } from "../../support/playbook-files.js";

const stepsOf = async (steps: string) => (await load(`- hosts: all\n  steps:\n${steps}`)).plays[0]!.steps;

describe("mail-flow probe settings", () => {
  it("wait: {probe: true} takes the defaults; a gate names its entry instance and settings", async () => {
    const steps = await stepsOf(
      "    - wait: {probe: true}\n" +
        "    - restart: {gate: {probe: {instance: postfix-in, outcome: accepted, sender: a@x.test, recipient: sink@lab.test, max_latency: 5s, address: 127.0.0.1, port: 2525}}}\n" +
        "    - reload:\n",
    );
    const [wait, restart, reload] = Object.values(steps)[0]!;
    expect(wait).toMatchObject({ type: "wait", checks: [], probe: { outcome: "delivered", maxLatencyMs: 30_000 } });
    expect(restart).toMatchObject({
      type: "restart",
      gate: { probe: { instance: "postfix-in", outcome: "accepted", sender: "a@x.test", recipient: "sink@lab.test", maxLatencyMs: 5000, address: "127.0.0.1", port: 2525 } },
    });
    expect(reload).not.toHaveProperty("gate");
  });

  it("rejects an unknown outcome, a gate on stop, and an entry instance in wait", async () => {
    expect(await problems("- hosts: all\n  steps:\n    - wait: {probe: {outcome: sent}}\n")).toHaveLength(1);
    expect(await problems("- hosts: all\n  steps:\n    - stop: {gate: {probe: true}}\n")).toHaveLength(1);
    expect(await problems("- hosts: all\n  steps:\n    - wait: {probe: {instance: postfix-in}}\n")).toHaveLength(1);
  });

  it("the playbook guide's example is a valid playbook", async () => {
    const readme = readFileSync(join(import.meta.dirname, "..", "..", "..", "docs", "playbooks.md"), "utf8");
    const example = /## Mail-flow probes[\s\S]*?```yaml\n([\s\S]*?)```/.exec(readme)![1]!;
    const steps = Object.values((await load(example)).plays[0]!.steps)[0]!;
    expect(steps.map((s) => s.type)).toEqual(["restart", "wait"]);
  });
});
