// The controller itself stopped during one-command fleet runs on 4 lab hosts
// (SIGKILL, SIGINT, SIGTERM at the agent's start, mid-edit and mid-command):
// every host's report matches it, files whole, nothing left behind, the
// documented exit code. (Split from fleet-command.faults.test.ts so that the
// two run side by side.)
import { expect, describe, it } from "vitest";
import { reached } from "../support/faults/fault-case.js";
import { POINT, useFleetLab } from "../support/faults/fleet-lab.js";
import { armHoldAtWrite, HOLDING, installPostconfTrap, trapFired } from "../support/faults/faults.js";
import type { FleetAction } from "../support/faults/fleet-state.js";

describe("the controller stopped during fleet commands", () => {
  const { host, edit, fleetCase, startAll } = useFleetLab();

  for (const sig of ["SIGKILL", "SIGINT", "SIGTERM"] as const)
    it(`the controller ${sig === "SIGKILL" ? "killed" : sig === "SIGINT" ? "interrupted" : "terminated"} (${sig}) at the agent's start, mid-edit, mid-command`, async () => {
      const h = host("mta02");
      await installPostconfTrap(h);
      for (const point of ["agent", "write", "sleeping"] as const) {
        await startAll();
        // "write": mta02's postconf -e is held for 2 s when it starts, and the signal lands then.
        if (point === "write") await armHoldAtWrite(h, 2000);
        const cmd = point === "sleeping" ? { action: { kind: "edit", settings: {} } as FleetAction, argv: ["postmulti", "-x", "sleep", "2"] } : edit();
        await fleetCase(`controller ${sig} at ${point}`, {
          ...cmd,
          faulted: [],
          interrupted: true,
          inject: async ({ controller }) => {
            if (await reached(h, point === "write" ? HOLDING : POINT[point])) controller.signal(sig);
          },
          exits: sig === "SIGKILL" ? ["SIGKILL"] : [4],
        });
        if (point === "write") expect(await trapFired(h), "the held write happened").toBe(true);
      }
    });

});
