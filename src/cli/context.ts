// From parsed options to a run: inventory loaded, hosts selected (Ansible
// pattern semantics and order), connection targets resolved before anything
// connects, output mode chosen, Ctrl-C wired to an orderly abort.
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadAnsibleConfig, loadInventory, type Inventory } from "../inventory/index.js";
import { runOnHosts, type HostWork } from "../orchestrator/fleet.js";
import { EXIT, exitCodeOf, summarize, type HostOutcome, type RunDocument } from "../report/document.js";
import { renderHost, renderRecap } from "../report/human.js";
import { createProgress } from "../report/progress.js";
import { KeyStore, type TransportOptions } from "../transport/index.js";
import type { ConnectionTarget, HostKeyChecking } from "../transport/target.js";
import { promptHidden } from "./prompt.js";

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
  "host-key-checking"?: string;
  "vault-password-file"?: string[];
  "vault-id"?: string[];
  "ask-vault-pass": boolean;
  verbose?: number;
}

/** A user-facing failure before any host is touched: exit 1 with this message. */
export class UsageError extends Error {}

export interface RunContext {
  args: HostArgs;
  inventory: Inventory;
  hosts: string[];
  targets: Map<string, ConnectionTarget>;
  forks: number;
  opTimeoutMs: number;
  json: boolean;
  color: boolean;
  signal: AbortSignal;
  /** The agent bundle to push (dist/agent.cjs beside the CLI). */
  agentBundle: string;
  /** Connection settings shared by all hosts of the run. */
  transport: TransportOptions;
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
 * Load the inventory and select hosts. With --list-hosts, print them and
 * return null (the caller exits 0 without connecting).
 */
export async function prepareRun(args: HostArgs, pattern = "all"): Promise<RunContext | null> {
  const warn = (msg: string) => process.stderr.write(`[WARNING]: ${msg}\n`);
  const verbose = (level: number, msg: string) => {
    if ((args.verbose ?? 0) >= level) process.stderr.write(`${msg}\n`);
  };
  const cfg = loadAnsibleConfig(process.cwd());
  // Like Ansible: -i, else ansible.cfg's inventory, else /etc/ansible/hosts.
  let sources = args.inventory ?? [];
  if (!sources.length && !cfg?.inventory?.length) {
    if (!existsSync("/etc/ansible/hosts")) {
      throw new UsageError("no inventory: give one with -i FILE (or set [defaults] inventory in ansible.cfg)");
    }
    sources = ["/etc/ansible/hosts"];
  }
  const inventory = await loadInventory({
    sources,
    vaultPasswordFiles: args["vault-password-file"] ?? [],
    vaultIds: args["vault-id"] ?? [],
    askVaultPass: args["ask-vault-pass"],
    cwd: process.cwd(),
    ansibleConfig: cfg ?? null,
    warn,
    verbose: (msg) => verbose(1, msg),
  });
  const hosts = inventory.selectHosts(pattern, args.limit);
  if (args["list-hosts"]) {
    process.stdout.write(`  hosts (${hosts.length}):\n${hosts.map((h) => `    ${h}\n`).join("")}`);
    return null;
  }
  if (hosts.length === 0) throw new UsageError(`no hosts matched${args.limit ? ` the limit '${args.limit}'` : ""}`);

  const becomePassword = args["ask-become-pass"] ? await promptHidden("BECOME password: ") : undefined;
  const targets = new Map<string, ConnectionTarget>();
  for (const h of hosts) {
    // -u/--private-key/-T sit between inventory variables and ansible.cfg, as in Ansible.
    const timeoutS = args.timeout;
    const t = inventory.toConnectionTarget(h, {
      ...(args.user ? { user: args.user } : {}),
      ...(args["private-key"] ? { privateKeyFiles: [args["private-key"]] } : {}),
      ...(timeoutS ? { connectTimeoutMs: timeoutS * 1000 } : {}),
    }); // throws InventoryError naming file/host/variable
    if (args.become) t.become = true;
    if (args["become-user"]) t.becomeUser = args["become-user"];
    if (becomePassword !== undefined) t.becomePassword = becomePassword;
    if (args["host-key-checking"] && !t.hostKeyChecking) t.hostKeyChecking = args["host-key-checking"] as HostKeyChecking;
    targets.set(h, t);
  }

  const controller = new AbortController();
  let interrupts = 0;
  process.on("SIGINT", () => {
    interrupts++;
    if (interrupts === 1) {
      process.stderr.write("\npostfleet: interrupted: finishing the hosts in progress, starting no others (Ctrl-C again to quit now)\n");
      controller.abort();
    } else {
      process.stderr.write("postfleet: quitting now; hosts in progress may be left mid-operation\n");
      process.exit(EXIT.aborted);
    }
  });

  const json = args.json;
  return {
    args,
    inventory,
    hosts,
    targets,
    forks: args.forks ?? cfg?.forks ?? 50,
    opTimeoutMs: args["op-timeout"] * 1000,
    json,
    color: !json && !!process.stdout.isTTY && !process.env.NO_COLOR,
    signal: controller.signal,
    agentBundle: agentBundlePath(),
    transport: { opTimeoutMs: args["op-timeout"] * 1000, keyStore: new KeyStore(), warn },
    warn,
    verbose,
  };
}

export interface RunOutput {
  doc: RunDocument;
  exitCode: number;
}

/** Run `work` on every selected host with progress, and print results (human or --json). */
export async function runAndReport(
  ctx: RunContext,
  command: string,
  work: HostWork,
  extra?: (doc: RunDocument) => Record<string, unknown>,
): Promise<RunOutput> {
  const progress = createProgress(ctx.hosts.length, !ctx.json && !!process.stderr.isTTY);
  let outcomes: HostOutcome[];
  try {
    outcomes = await runOnHosts(ctx.hosts, work, {
      forks: ctx.forks,
      signal: ctx.signal,
      onHostStart: (h) => progress.hostStarted(h),
      onHostDone: (o) => progress.hostDone(o),
    });
  } finally {
    progress.stop();
  }
  const doc: RunDocument = { command, summary: summarize(outcomes), aborted: ctx.signal.aborted, hosts: outcomes };
  const exitCode = exitCodeOf(doc);
  if (ctx.json) {
    process.stdout.write(`${JSON.stringify({ ...doc, ...(extra?.(doc) ?? {}) }, null, 2)}\n`);
  }
  return { doc, exitCode };
}

export function printHumanResults(ctx: RunContext, doc: RunDocument): void {
  const o = { color: ctx.color, verbose: (ctx.args.verbose ?? 0) > 0 };
  for (const h of doc.hosts) process.stdout.write(renderHost(h, o));
  process.stdout.write(renderRecap(doc, o));
}
