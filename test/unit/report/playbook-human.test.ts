import { describe, expect, it } from "vitest";
import type { PlayHostOutcome } from "../../../src/orchestrator/steps/step-results.js";
import { renderChange, renderPlayHost } from "../../../src/report/playbook-human.js";

const o = { color: false, diff: true, check: false, verbose: false };

describe("playbook human output", () => {
  it("prints a change the way the docs promise: changed, added, back to default, empty values quoted", () => {
    expect(renderChange({ file: "main.cf", name: "relayhost", before: "[a]", after: "[b]" })).toBe("~ relayhost: [a] → [b]");
    expect(renderChange({ file: "main.cf", name: "mydestination", before: null, after: "" })).toBe('+ mydestination = ""');
    expect(renderChange({ file: "main.cf", name: "inet_interfaces", before: "127.0.0.1", after: null, defaultValue: "all" })).toBe("- inet_interfaces (back to default all)");
  });

  it("shows each step and instance, the diff, and the failed instance's gate and stderr", () => {
    const h: PlayHostOutcome = {
      host: "mta01",
      status: "failed",
      error: "step 2 (restart): postfix-in: not healthy",
      results: [],
      durationMs: 10,
      steps: [
        {
          index: 0, name: "settings", type: "postconf", status: "changed", durationMs: 1,
          instances: [{ instance: "postfix-out", status: "changed", action: "changed 1 setting", changes: [{ file: "main.cf", name: "relayhost", before: null, after: "[hub]" }], durationMs: 1 }],
        },
        {
          index: 1, name: "restart", type: "restart", status: "failed", durationMs: 1,
          instances: [
            { instance: "postfix-in", status: "failed", action: "start failed", via: "postfix", error: "not healthy", stderr: "postfix: fatal: boom\n", health: [{ kind: "smtp", ok: false, detail: "127.0.0.1:25: connection refused" }], durationMs: 1 },
          ],
        },
        { index: 2, name: "wait", type: "wait", status: "skipped", skipped: "an earlier step failed (restart)", instances: [], durationMs: 0 },
      ],
    };
    const text = renderPlayHost(h, o);
    expect(text).toBe(
      [
        "mta01 | FAILED: step 2 (restart): postfix-in: not healthy",
        "  [changed] settings",
        "    postfix-out changed 1 setting",
        "      + relayhost = [hub]",
        "  [failed] restart",
        "    postfix-in start failed via postfix: not healthy",
        "      gate: ✗ smtp: 127.0.0.1:25: connection refused",
        "      postfix: fatal: boom",
        "  [skipped] wait (an earlier step failed (restart))",
        "",
      ].join("\n"),
    );
  });

  it("leaves the diff out without --diff", () => {
    const h: PlayHostOutcome = {
      host: "a", status: "changed", results: [], durationMs: 1,
      steps: [{ index: 0, name: "s", type: "postconf", status: "changed", durationMs: 1, instances: [{ instance: "-", status: "changed", action: "changed 1 setting", changes: [{ file: "main.cf", name: "x", before: "1", after: "2" }], durationMs: 1 }] }],
    };
    expect(renderPlayHost(h, { ...o, diff: false })).not.toContain("~ x");
  });
});
