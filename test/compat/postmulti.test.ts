// The differential suite: every scenario of scenarios.ts on two fresh twin
// lab containers, the real /usr/sbin/postmulti on one, the agent
// (node /opt/postfleet/agent.cjs, from `npm run bundle`) on the other, with
// per-step exit code, stdout and stderr text, and the final file tree
// compared. POSTFLEET_COMPAT_SUBJECT=postmulti runs the real one on both
// sides (self-check of the suite). See test/compat/README.md.
import pLimit from "p-limit";
import { describe, expect, it } from "vitest";
import { scenarios } from "./scenarios.js";
import { runScenario } from "../support/compat/scenario.js";
import { dumpOutcome, findMismatch, recordMismatch } from "../support/compat/report.js";

// Two scenarios (four containers) at a time: the machine has two cores.
const limit = pLimit(Number(process.env.POSTFLEET_COMPAT_PARALLEL ?? 2));

describe("postmulti differential suite: real postmulti vs the agent", () => {
  it("has at least 40 scenarios with distinct names", () => {
    expect(scenarios.length).toBeGreaterThanOrEqual(40);
    expect(new Set(scenarios.map((s) => s.name)).size).toBe(scenarios.length);
  });

  for (const s of scenarios) {
    it.concurrent(
      s.name,
      async ({ expect }) => {
        const { real, subject } = await limit(() => runScenario(s));
        dumpOutcome(s.name, real, subject);
        recordMismatch(findMismatch(s.name, real, subject));
        expect.soft(subject.steps, "exit code, stdout and stderr of every step").toEqual(real.steps);
        expect.soft(subject.tree, "file tree (type, owner, mode, content)").toEqual(real.tree);
        expect.soft(subject.log, "mail log lines of postmulti, postmulti-script, postfix, postfix-script").toEqual(real.log);
      },
      600_000,
    );
  }
});
