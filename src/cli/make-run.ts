// From parsed options to a run: inventory loaded, hosts selected (Ansible
// pattern semantics and order), connection targets resolved before anything
// connects, output mode chosen, Ctrl-C wired to an orderly stop. The engine
// (src/orchestrator) does the run; this file only prepares.
import { setMaxListeners } from "node:events";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Inventory } from "../inventory/index.js";
import { FleetRun } from "../orchestrator/fleet-run.js";
import { KeyStore } from "../transport/index.js";
import type { ConnectionTarget, HostKeyChecking, TransportKind } from "../shared/connection-target.js";
import { promptHidden } from "../shared/prompt.js";
import { agentPersistMs } from "./agent-persist.js";
import { UsageError, type HostArgs } from "./host-args.js";
import { wireInterrupts } from "./interrupts.js";
import { openInventory, type LoadedInventory } from "./open-inventory.js";

/** A prepared command-line run: what to reach and how, and how to print. */
export interface CliRun {
  args: HostArgs;
  inventory: Inventory;
  hosts: string[];
  targets: Map<string, ConnectionTarget>;
  json: boolean;
  color: boolean;
  /** The engine, with its settings; Ctrl-C is wired to it. */
  run: FleetRun;
  warn(msg: string): void;
  verbose(level: number, msg: string): void;
}

export function agentBundlePath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const p of [join(here, "agent.cjs"), join(here, "..", "..", "dist", "agent.cjs")]) {
    if (existsSync(p)) return p;
  }
  throw new UsageError("the agent bundle dist/agent.cjs is missing: run `npm run build` first");
}

/**
 * Load the inventory and select hosts, then make the run. With --list-hosts,
 * print the hosts and return null (the caller exits 0 without connecting).
 */
export async function prepareRun(args: HostArgs): Promise<CliRun | null> {
  const loaded = await openInventory(args);
  const hosts = loaded.inventory.selectHosts("all", args.limit);
  if (args["list-hosts"]) {
    process.stdout.write(`  hosts (${hosts.length}):\n${hosts.map((h) => `    ${h}\n`).join("")}`);
    return null;
  }
  if (hosts.length === 0) throw new UsageError(`no hosts matched${args.limit ? ` the limit '${args.limit}'` : ""}`);
  return makeRun(args, loaded, hosts);
}

/** Resolve every host's connection (before anything connects) and make the engine, Ctrl-C wired to it. */
export async function makeRun(args: HostArgs, loaded: LoadedInventory, hosts: string[]): Promise<CliRun> {
  const { inventory, warn, verbose } = loaded;
  const becomePassword = args["ask-become-pass"] || loaded.becomeAskPass ? await promptHidden("BECOME password: ") : undefined;
  // One precedence for every connection setting: src/inventory/connection-settings.ts.
  const targets = inventory.connectionTargets(hosts, {
    ...(args.user ? { user: args.user } : {}),
    ...(args["private-key"] ? { privateKeyFiles: [args["private-key"]] } : {}),
    ...(args.timeout ? { connectTimeoutMs: args.timeout * 1000 } : {}),
    ...(args.become ? { become: true } : {}),
    ...(args["become-user"] ? { becomeUser: args["become-user"] } : {}),
    ...(becomePassword !== undefined ? { becomePassword } : {}),
    ...(args["host-key-checking"] ? { hostKeyChecking: args["host-key-checking"] as HostKeyChecking } : {}),
    ...(args.transport && args.transport !== "auto" ? { transport: args.transport as TransportKind } : {}),
  }); // throws InventoryError naming file/host/variable

  const stop = new AbortController();
  const hardStop = new AbortController();
  // Every request in flight listens to these (up to --forks hosts at once): not a leak.
  setMaxListeners(0, stop.signal, hardStop.signal);
  const opTimeoutMs = args["op-timeout"] * 1000;
  const run = new FleetRun({
    targets,
    forks: args.forks ?? loaded.forksDefault ?? 50,
    opTimeoutMs,
    agentBundle: agentBundlePath(),
    transport: { opTimeoutMs, keyStore: new KeyStore(), warn, persistIdleMs: agentPersistMs(args), ...((args.verbose ?? 0) >= 2 ? { timingsLog: (line: string) => process.stderr.write(`postfleet: timings ${line}\n`) } : {}) },
    stop: stop.signal,
    hardStop: hardStop.signal,
  });
  wireInterrupts(run, stop, hardStop);
  warnUncheckedKeys(run.hostsWithoutKeyChecking(hosts), hosts.length, warn);

  const json = args.json;
  return { args, inventory, hosts, targets, json, color: !json && !!process.stdout.isTTY && !process.env.NO_COLOR, run, warn, verbose };
}

/** One banner before the run, not only a line per host lost among the results. */
function warnUncheckedKeys(off: readonly string[], total: number, warn: (msg: string) => void): void {
  if (!off.length) return;
  const names = off.length > 10 ? `${off.slice(0, 10).join(", ")} and ${off.length - 10} more` : off.join(", ");
  warn(
    `host key checking is OFF for ${off.length} of ${total} host${total === 1 ? "" : "s"} (${names}): their identity is not verified, ` +
      "so a changed or unknown key is accepted (each is reported); no become password is sent to a host whose key changed",
  );
}
