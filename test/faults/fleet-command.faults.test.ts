// Faults during one-command fleet runs (`postfleet postmulti -p stop|start`,
// `postmulti -x postconf -e ...`) on 4 lab hosts: the faulted host's ssh
// session killed, the host paused, cut off its network, its config disk
// full, its agent killed mid-edit, removed (the controller stopped:
// fleet-controller.faults.test.ts). Every case: the other hosts finish, each
// host's report matches it, files whole, nothing left behind, the documented
// exit code.
import { expect, describe, it } from "vitest";
import { reached } from "../support/faults/fault-case.js";
import { POINT, useFleetLab } from "../support/faults/fleet-lab.js";
import { armAgentKillAtWrite, armHoldAtStop, armHoldAtWrite, cutNetwork, fillDisk, installPostconfTrap, killSshSessions, pause, removeHost, stopTrapFired, trapFired, unpause } from "../support/faults/faults.js";
import type { FleetAction } from "../support/faults/fleet-state.js";

describe("host faults during fleet commands", () => {
  const { host, edit, fleetCase, startAll } = useFleetLab();

  it("ssh session killed on one host: at the agent's start, mid-edit, mid-stop", async () => {
    const h = host("mta02");
    for (const [point, cmd] of [
      ["agent", edit()],
      ["write", edit()],
      ["stopping", { action: { kind: "stop" } as FleetAction, argv: ["postmulti", "-p", "stop"] }],
    ] as Array<[keyof typeof POINT, { action: FleetAction; argv: string[] }]>) {
      await startAll();
      if (point === "write") await armHoldAtWrite(h, 2000);
      if (point === "stopping") await armHoldAtStop(h, 3000);
      await fleetCase(`sshd killed at ${point} (${cmd.argv.slice(1, 3).join(" ")})`, {
        ...cmd,
        faulted: ["mta02"],
        inject: async () => {
          if (await reached(h, POINT[point])) await killSshSessions(h);
        },
        exits: [2, 3],
      });
      if (point === "write") expect(await trapFired(h), "the held write happened").toBe(true);
      if (point === "stopping") expect(await stopTrapFired(h), "the held stop happened").toBe(true);
    }
  });

  it("agent killed (SIGKILL) in the middle of a configuration edit, 0 and 30 ms into the write", async () => {
    const h = host("mta03");
    await installPostconfTrap(h);
    for (const after of [0, 30]) {
      const cmd = edit();
      await armAgentKillAtWrite(h, after);
      await fleetCase(`agent SIGKILL ${after} ms into a postconf -e`, {
        ...cmd,
        faulted: ["mta03"],
        inject: async () => undefined,
        exits: [2, 3],
      });
      expect(await trapFired(h), "the trap fired").toBe(true);
    }
  });

  it("a host paused (docker pause) past the operation timeout: the others finish, it fails, nothing stays", async () => {
    const h = host("mta04");
    for (const point of ["stopping"] as const) {
      await startAll();
      await armHoldAtStop(h, 3000);
      const cmd = point === "stopping" ? { action: { kind: "stop" } as FleetAction, argv: ["postmulti", "-p", "stop"] } : edit();
      await fleetCase(`host paused at ${point}`, {
        ...cmd,
        faulted: ["mta04"],
        inject: async () => {
          if (await reached(h, POINT[point])) await pause(h);
        },
        repair: () => unpause(h),
        exits: [2, 3],
      });
      expect(await stopTrapFired(h), "the held stop happened").toBe(true);
    }
  });

  it("a host's network cut mid-run", async () => {
    const h = host("mta02");
    let restore: (() => Promise<void>) | undefined;
    await startAll();
    await fleetCase("network cut at the agent's start", {
      ...edit(),
      faulted: ["mta02"],
      inject: async () => {
        if (await reached(h, POINT.agent)) restore = await cutNetwork(h);
      },
      repair: async () => restore?.(),
      exits: [2, 3],
    });
  });

  it("a full disk under /etc/postfix-out: that instance's edit fails cleanly, files whole", async () => {
    const h = host("mta01");
    const undo = await fillDisk(h, "/etc/postfix-out");
    try {
      await fleetCase("full disk under /etc/postfix-out (postconf -e)", {
        ...edit(),
        faulted: ["mta01"],
        inject: async () => undefined,
        repair: undo,
        exits: [2],
      });
    } catch (e) {
      await undo().catch(() => undefined);
      throw e;
    }
  });

  it("a host removed mid-run (last: the lab has 3 hosts afterwards)", async () => {
    const h = host("mta04");
    await startAll();
    await fleetCase("host removed mid-stop", {
      action: { kind: "stop" },
      argv: ["postmulti", "-p", "stop"],
      faulted: ["mta04"],
      gone: ["mta04"],
      inject: async () => {
        // Frozen as soon as its agent starts, then removed: it disappears in the middle of the operation.
        if (await reached(h, POINT.agent)) {
          await pause(h);
          await removeHost(h);
        }
      },
      exits: [2, 3],
    });
    h.name = "gone";
  });
});
