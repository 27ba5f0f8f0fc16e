// Running the real Ansible for the differential tests, isolated from any
// user configuration (empty ANSIBLE_CONFIG, private ANSIBLE_HOME and HOME).
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Group } from "../../src/inventory/model.js";

const home = mkdtempSync(join(tmpdir(), "postfleet-oracle-"));
const cfg = join(home, "empty.cfg");
writeFileSync(cfg, "");

export const ANSIBLE_ENV: NodeJS.ProcessEnv = {
  PATH: process.env["PATH"] ?? "/usr/bin:/bin",
  HOME: home,
  LANG: "C.UTF-8",
  ANSIBLE_CONFIG: cfg,
  ANSIBLE_HOME: join(home, ".ansible"),
  ANSIBLE_LOCAL_TEMP: join(home, "tmp"),
  ANSIBLE_NOCOLOR: "1",
  ANSIBLE_LOCALHOST_WARNING: "False",
  ANSIBLE_INVENTORY_UNPARSED_WARNING: "False",
  ANSIBLE_DEPRECATION_WARNINGS: "False",
};

export const CORPUS = resolve(import.meta.dirname, "corpus");
export const REPO = resolve(import.meta.dirname, "../..");

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<Run> {
  return new Promise((res) => {
    const child = execFile(cmd, args, { cwd: opts.cwd ?? CORPUS, env: opts.env ?? ANSIBLE_ENV, maxBuffer: 64 * 1024 * 1024, timeout: 110_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === "number" ? ((err as { code: number }).code) : 1) : 0;
      res({ code, stdout: String(stdout), stderr: String(stderr) });
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

export function ansible(tool: string, args: string[], cwd?: string): Promise<Run> {
  return run(tool, args, cwd ? { cwd } : {});
}

/** `ansible PATTERN --list-hosts`: the hosts, in order. */
export async function ansibleListHosts(sources: string[], pattern: string, limit?: string): Promise<{ hosts: string[]; stderr: string }> {
  const args = [pattern, "--list-hosts", ...sources.flatMap((s) => ["-i", s]), ...(limit ? ["--limit", limit] : [])];
  const r = await ansible("ansible", args);
  if (r.code !== 0 && !/No hosts matched/.test(r.stdout + r.stderr)) throw new Error(`ansible ${args.join(" ")} failed: ${r.stderr}`);
  const lines = r.stdout.split("\n");
  const at = lines.findIndex((l) => /^\s*hosts \(\d+\):/.test(l));
  return { hosts: at < 0 ? [] : lines.slice(at + 1).map((l) => l.trim()).filter((l) => l), stderr: r.stderr };
}

/** JSON with object keys sorted, so key order does not matter. */
export function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === "object" && !Array.isArray(x) ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : x,
  );
}

/** Run postfleet's CLI from source (tsx), as an operator would run it. */
export function postfleet(args: string[], cwd = CORPUS, env: NodeJS.ProcessEnv = ANSIBLE_ENV): Promise<Run> {
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
  return run(process.execPath, ["--import", tsx, join(REPO, "src/cli/main.ts"), ...args], { cwd, env: { ...env, NODE_PATH: join(REPO, "node_modules") } });
}

/**
 * Ansible walks a group's descendants level by level through a Python set:
 * when two groups of one level both bring new subgroups, the order of those
 * subgroups (and of hosts only they hold) varies between Ansible runs.
 */
export function ansibleOrderIsDeterministic(top: Group): boolean {
  let level: Group[] = [top, ...top.childGroups];
  const seen = new Set<Group>(level);
  while (level.length) {
    const next: Group[] = [];
    let contributing = 0;
    for (const g of level) {
      // Groups sharing a new child count too: which one is walked first decides.
      const fresh = g.childGroups.filter((c) => !seen.has(c));
      if (fresh.length) contributing++;
      next.push(...fresh.filter((c) => !next.includes(c)));
    }
    if (contributing > 1) return false;
    for (const g of next) seen.add(g);
    level = next;
  }
  return true;
}
