// Faults during one-command fleet runs (`postfleet postmulti -p stop|start`,
// `postmulti -x postconf -e ...`) on 4 lab hosts: the faulted host's ssh
// session killed, the host paused, cut off its network, its config disk
// full, its agent killed mid-edit, removed; the controller killed,
// interrupted and terminated at several points. Every case: the other hosts
// finish, each host's report matches it, files whole, nothing left behind,
// the documented exit code.
import { join } from "node:path";
import { reached } from "./support/fault-case.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLab, type Lab, type TestLabHost } from "../support/lab.js";
import { runFaultCase, type FaultCase } from "./support/fault-case.js";
import { AGENT_PATTERN, armAgentKillAtWrite, armHoldAtWrite, HOLDING, trapFired, cutNetwork, fillDisk, installPostconfTrap, installStopTrap, armHoldAtStop, stopTrapFired, STOP_HOLDING, killSshSessions, pause, removeHost, sleep, unpause, waitOnHost } from "./support/faults.js";
import { fleetStated, type FleetAction } from "./support/fleet-state.js";

// Points of a run on the faulted host, as seen from inside it.
const POINT = {
  // (Patterns written so that they do not match the polling shell itself.)
  agent: `pgrep -f -- '${AGENT_PATTERN}'`,
  // A write is too short to catch from outside: the postconf trap holds it (armHoldAtWrite).
  write: HOLDING,
  // A stop too: the stop trap holds it (armHoldAtStop).
  stopping: STOP_HOLDING,
  sleeping: "pgrep -f '^sleep 2$'",
} as const;

describe("faults during fleet commands", () => {
  let lab: Lab;
  let hosts: TestLabHost[];
  let n = 0;
  const home = () => join(lab.dir, "home");

  beforeAll(async () => {
    lab = await startLab(4);
    hosts = lab.hosts;
    await Promise.all(
      hosts.map((h) => h.exec("postmulti -e init && postmulti -I postfix-out -G mta -e create && postmulti -i postfix-out -e enable && postmulti -p start")),
    );
    // The postconf and stop traps on every host (inert until a case arms them).
    await Promise.all(hosts.map(async (h) => (await installPostconfTrap(h), await installStopTrap(h))));
  });
  afterAll(async () => {
    await lab?.stop();
  });

  // -T 15: connecting takes seconds on a loaded 2-core machine; --op-timeout 15 bounds a hung host.
  const base = (...more: string[]) => ["-i", lab.inventoryPath, "--json", "-T", "15", "--op-timeout", "15", ...more];
  const edit = () => {
    n++;
    const settings = { delay_warning_time: `${n}h`, maximal_queue_lifetime: `${n + 1}d` };
    const argv = ["postmulti", "-x", "postconf", "-e", ...Object.entries(settings).map(([k, v]) => `${k}=${v}`)];
    return { action: { kind: "edit", settings } as FleetAction, argv };
  };
  const live = () => hosts.filter((h) => h.name !== "gone");

  function fleetCase(
    name: string,
    o: {
      action: FleetAction;
      argv: string[];
      faulted: string[];
      inject: FaultCase["inject"];
      repair?: () => Promise<void>;
      exits: FaultCase["exits"];
      interrupted?: boolean;
      gone?: string[];
      rerun?: boolean;
    },
  ) {
    const hs = live();
    return runFaultCase({
      name,
      hosts: hs,
      args: base(...o.argv),
      env: { HOME: home() },
      inject: o.inject,
      ...(o.repair ? { repair: o.repair } : {}),
      ...(o.gone ? { gone: o.gone } : {}),
      ...(o.rerun === false ? {} : { rerun: ["-i", lab.inventoryPath, ...(o.gone ? ["-l", `all:!${o.gone.join(":!")}`] : []), "--json", ...o.argv] }),
      exits: o.exits,
      stated: (doc, h, b, nw) => fleetStated(o.action, !o.faulted.includes(h.name) && !o.interrupted)(doc, h, b, nw),
      marker: lab.dir,
      ports: hs.map((h) => h.port),
    });
  }
  const host = (name: string) => hosts.find((h) => h.name === name)!;
  const startAll = () => Promise.all(live().map((h) => h.exec("postmulti -p start >/dev/null 2>&1 || true")));

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
