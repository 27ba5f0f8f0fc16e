// Helpers for the agent's integration tests: put dist/agent.cjs on a lab
// host, run it there, and snapshot the Postfix file tree.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import type { PostmultiResponse } from "../../../src/protocol/index.js";
import type { TestLabHost } from "../../support/lab.js";

export const AGENT = "/opt/postfleet/agent.cjs";

export const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export function agentBundle(): string {
  if (!existsSync("dist/agent.cjs")) execFileSync("node", ["scripts/bundle.mjs"], { stdio: "inherit" });
  return readFileSync("dist/agent.cjs", "utf8");
}

export async function installAgent(host: TestLabHost): Promise<void> {
  await host.exec("mkdir -p /opt/postfleet");
  await host.container.copyContentToContainer([{ content: agentBundle(), target: AGENT }]);
}

export async function sh(host: TestLabHost, cmd: string): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  return host.exec(["sh", "-c", cmd]);
}

export async function mustSh(host: TestLabHost, cmd: string): Promise<string> {
  const r = await sh(host, cmd);
  if (r.exitCode !== 0) throw new Error(`${cmd}: exit ${r.exitCode}\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** Run `node agent.cjs --json [flags] ARGS` on the host and parse its one response line. */
export async function agentJson(host: TestLabHost, args: string[], flags: string[] = []): Promise<PostmultiResponse & { processExit: number }> {
  const r = await sh(host, `node ${AGENT} --json ${flags.join(" ")} ${args.map(shq).join(" ")}`);
  const lines = r.stdout.trim().split("\n");
  if (lines.length !== 1) throw new Error(`expected one JSON line, got:\n${r.stdout}\n${r.stderr}`);
  return { ...(JSON.parse(lines[0]!) as PostmultiResponse), processExit: r.exitCode };
}

/**
 * Contents, owners and modes of every file and directory of every instance
 * (plus the primary's main.cf), without run-time files (pids, sockets, logs).
 */
export async function snapshotTree(host: TestLabHost): Promise<string> {
  return mustSh(
    host,
    `find /etc/postfix* /var/spool/postfix* /var/lib/postfix* -xdev \\( -type s -o -type p -o -name '*.pid' -o -name '*.lock' -o -name 'master.lock' \\) -prune -o -printf '%p %y %u:%g %m\\n' 2>/dev/null | sort;
     find /etc/postfix* -type f -exec sha256sum {} + 2>/dev/null | sort`,
  );
}
