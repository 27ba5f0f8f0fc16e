// The fleet-command fault cases' shared lab: 4 hosts with postfix-out created,
// enabled and running, the postconf and stop traps installed; a case runs a
// one-command fleet run with a fault injected and checks every host after it.
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import { startLab, type Lab, type TestLabHost } from "../lab.js";
import { runFaultCase, type FaultCase } from "./fault-case.js";
import { AGENT_PATTERN, HOLDING, installPostconfTrap, installStopTrap, STOP_HOLDING } from "./faults.js";
import { fleetStated, type FleetAction } from "./fleet-state.js";

// Points of a run on the faulted host, as seen from inside it.
export const POINT = {
  // (Patterns written so that they do not match the polling shell itself.)
  agent: `pgrep -f -- '${AGENT_PATTERN}'`,
  // A write is too short to catch from outside: the postconf trap holds it (armHoldAtWrite).
  write: HOLDING,
  // A stop too: the stop trap holds it (armHoldAtStop).
  stopping: STOP_HOLDING,
  sleeping: "pgrep -f '^sleep 2$'",
} as const;

/** Registers the lab's set-up and tear-down in the calling describe; returns the case runner and helpers. */
export function useFleetLab() {
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

  return { host, edit, fleetCase, startAll, live };
}
