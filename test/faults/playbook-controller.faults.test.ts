// The controller itself killed (SIGKILL), interrupted (SIGINT) and
// terminated (SIGTERM) at each step of a multi-step playbook run (settings,
// restart, wait), seen from a host of the first batch.
import { reached } from "../support/faults/fault-case.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Lab } from "../support/lab.js";
import { armHoldAtWrite, trapFired, waitOnHost } from "../support/faults/faults.js";
import { PB_POINT, playbookCase, startPlaybookLab } from "../support/faults/playbook-case.js";

describe("the controller stopped at each step of a playbook run", () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await startPlaybookLab();
  });
  afterAll(async () => {
    await lab?.stop();
  });

  for (const sig of ["SIGINT", "SIGTERM", "SIGKILL"] as const)
    it(`${sig} at the settings, restart and wait steps`, async () => {
      const h = lab.hosts[1]!;
      for (const point of ["settings", "restart", "wait"] as const) {
        // settings: the second write of h's settings step (main.cf done, master.cf next) is held for 2 s.
        if (point === "settings") await armHoldAtWrite(h, 2000, 1);
        await playbookCase(lab, `playbook: controller ${sig} at ${point}`, {
          faulted: [],
          interrupted: true,
          inject: async ({ controller }) => {
            if (await reached(h, PB_POINT[point], 120_000)) controller.signal(sig);
          },
          exits: sig === "SIGKILL" ? ["SIGKILL"] : [4],
        });
        if (point === "settings") expect(await trapFired(h), "the held write happened").toBe(true);
      }
    });
});
