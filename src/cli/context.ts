// From parsed options to a run: inventory loaded, hosts selected (Ansible
// pattern semantics and order), connection targets resolved before anything
// connects, output mode chosen, Ctrl-C wired to an orderly stop. The engine
// (src/orchestrator) does the run; this file only prepares and prints.
import { setMaxListeners } from "node:events";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadAnsibleConfig, loadInventory, type AnsibleConfig, type Inventory } from "../inventory/index.js";
import { EXIT, exitCodeOf, type RunDocument } from "../orchestrator/run-document.js";
import { FleetRun } from "../orchestrator/fleet-run.js";
import type { HostOperation } from "../orchestrator/operations.js";
import { renderHosts, renderRecap } from "../report/human.js";
import { attachProgress } from "../report/progress.js";
import { KeyStore } from "../transport/index.js";
import type { ConnectionTarget, HostKeyChecking, TransportKind } from "../shared/connection-target.js";
import { promptHidden } from "../shared/prompt.js";

export interface HostArgs {
  inventory?: string[];
  limit?: string;
  forks?: number;
  json: boolean;
  "list-hosts": boolean;
  user?: string;
  "private-key"?: string;
  become?: boolean;
  "become-user"?: string;
  "ask-become-pass": boolean;
  timeout?: number;
  "op-timeout": number;
  "agent-persist"?: number;
  "host-key-checking"?: string;
  transport?: string;
  "vault-password-file"?: string[];
  "vault-id"?: string[];
  "ask-vault-pass": boolean;
  verbose?: number;
}

/** A user-facing failure before any host is touched: exit 1 with this message. */
export class UsageError extends Error {}

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

/** The inventory a run reads, with ansible.cfg and the output helpers. */
export interface LoadedInventory {
  inventory: Inventory;
  forksDefault: number | undefined;
  /** ansible.cfg's become_ask_pass (or ANSIBLE_BECOME_ASK_PASS): ask as -K does. */
  becomeAskPass: boolean;
  warn(msg: string): void;
  verbose(level: number, msg: string): void;
}

export async function openInventory(args: HostArgs): Promise<LoadedInventory> {
  const warn = (msg: string) => process.stderr.write(`[WARNING]: ${msg}\n`);
  const verbose = (level: number, msg: string) => {
    if ((args.verbose ?? 0) >= level) process.stderr.write(`${msg}\n`);
  };
  const cfg = loadAnsibleConfig(process.cwd());
  // -i, else ansible.cfg's inventory, else /etc/ansible/hosts: loadInventory applies the rule.
  const inventory = await loadInventory({
    sources: args.inventory ?? [],
    ...vaultOptions(args, cfg),
    cwd: process.cwd(),
    ansibleConfig: cfg ?? null,
    warn,
    verbose: (msg) => verbose(1, msg),
  });
  return { inventory, forksDefault: cfg?.forks, becomeAskPass: cfg?.becomeAskPass === true, warn, verbose };
}

/**
 * Vault secrets as Ansible gathers them: the command line's password files and
 * vault ids, then ansible.cfg's (or ANSIBLE_VAULT_PASSWORD_FILE /
 * ANSIBLE_VAULT_IDENTITY_LIST); --ask-vault-pass or ask_vault_pass.
 */
export function vaultOptions(
  args: { "vault-password-file"?: string[]; "vault-id"?: string[]; "ask-vault-pass"?: boolean },
  cfg: AnsibleConfig | undefined,
): { vaultPasswordFiles: string[]; vaultIds: string[]; askVaultPass: boolean } {
  return {
    vaultPasswordFiles: [...(args["vault-password-file"] ?? []), ...(cfg?.vaultPasswordFiles ?? [])],
    vaultIds: [...(args["vault-id"] ?? []), ...(cfg?.vaultIdentityList ?? [])],
    askVaultPass: !!args["ask-vault-pass"] || cfg?.askVaultPass === true,
  };
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
    ...(args.transport ? { transport: args.transport as TransportKind } : {}),
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

/**
 * How long each host's agent stays up after the run, idle, for the next run:
 * a few minutes by default, as ControlPersist keeps ssh connections (a Node.js
 * start per host is most of a short run's time). 0 turns it off.
 */
export const DEFAULT_AGENT_PERSIST_S = 300;
/** The longest idle time a resident agent keeps (the agent caps it too): its right is re-judged at each use, not its standing. */
export const MAX_AGENT_PERSIST_S = 3600;

/** --agent-persist, else $POSTFLEET_AGENT_PERSIST, else the default, in ms (0: no resident agent). */
export function agentPersistMs(args: HostArgs): number {
  const env = process.env.POSTFLEET_AGENT_PERSIST;
  const raw = args["agent-persist"] ?? (env !== undefined && env !== "" ? Number(env) : DEFAULT_AGENT_PERSIST_S);
  if (!Number.isFinite(raw) || raw < 0 || raw > MAX_AGENT_PERSIST_S) {
    throw new UsageError(`--agent-persist (or POSTFLEET_AGENT_PERSIST) must be a number of seconds from 0 to ${MAX_AGENT_PERSIST_S}, not ${String(args["agent-persist"] ?? process.env.POSTFLEET_AGENT_PERSIST)}`);
  }
  return Math.round(raw * 1000);
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

/**
 * First Ctrl-C: start nothing new, let work in progress finish. Second: cancel
 * and quit, naming the hosts. SIGTERM and SIGHUP (a service manager stopping
 * us, a closed terminal) count as Ctrl-C: without this Node.js would die at
 * once, with no report, no exit code of ours and hosts left mid-operation.
 */
function wireInterrupts(run: FleetRun, stop: AbortController, hardStop: AbortController): void {
  let interrupts = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    interrupts++;
    if (interrupts === 1) {
      const by = sig === "SIGINT" ? "" : ` (${sig})`;
      process.stderr.write(`\npostfleet: interrupted${by}: finishing the work in progress, starting nothing new (Ctrl-C again to quit now)\n`);
      stop.abort();
      return;
    }
    const busy = run.inFlight();
    process.stderr.write(
      busy.length
        ? `postfleet: quitting now; these hosts may be left mid-operation: ${busy.map((b) => `${b.host} (${b.doing})`).join(", ")}\n`
        : "postfleet: quitting now\n",
    );
    hardStop.abort();
    // Give the cancel requests a moment to reach the agents, then go.
    setTimeout(() => process.exit(EXIT.aborted), 300).unref();
  };
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(sig, onSignal);
}

export interface RunOutput {
  doc: RunDocument;
  exitCode: number;
}

/** Run one operation on every selected host with progress; print --json, or leave human output to the caller. */
export async function runAndReport(ctx: CliRun, op: HostOperation, extra?: (doc: RunDocument) => Record<string, unknown>): Promise<RunOutput> {
  const detach = attachProgress(ctx.run.events, ctx.hosts.length, !ctx.json && !!process.stderr.isTTY);
  let doc: RunDocument;
  try {
    doc = await ctx.run.runOperation(ctx.hosts, op);
  } finally {
    detach();
  }
  if (ctx.json) process.stdout.write(`${JSON.stringify({ ...doc, ...(extra?.(doc) ?? {}) }, null, 2)}\n`);
  return { doc, exitCode: exitCodeOf(doc) };
}

export function printHumanResults(ctx: CliRun, doc: RunDocument): void {
  const o = { color: ctx.color, verbose: (ctx.args.verbose ?? 0) > 0 };
  process.stdout.write(renderHosts(doc.hosts, o));
  process.stdout.write(renderRecap(doc, o));
}
