// Helpers for the agent's integration tests: put dist/agent.cjs on a lab
// host, run it there, and snapshot the Postfix file tree.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { Client, type ClientChannel } from "ssh2";
import type { AgentResponse, PostmultiResponse } from "../../src/protocol/index.js";
import { afterAll, beforeAll } from "vitest";
import { startLab, type Lab, type LabOptions, type TestLabHost } from "./lab.js";
import { shellQuote } from "../../src/transport/shell.js";

export const AGENT = "/opt/postfleet/agent.cjs";


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

/** One protocol request (id 1) through `node agent.cjs --serve` on the host; its answer. */
export async function serveOnce<T extends AgentResponse>(host: TestLabHost, req: Record<string, unknown> & { op: string }): Promise<T> {
  const line = JSON.stringify({ id: 1, ...req });
  const r = await sh(host, `printf '%s\\n' ${shellQuote(line)} | node ${AGENT} --serve`);
  const answer = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as T).find((a) => a.id === 1);
  if (!answer) throw new Error(`no answer (exit ${r.exitCode}):\n${r.stdout}${r.stderr}`);
  return answer;
}

/** Run `node agent.cjs --json [flags] ARGS` on the host and parse its one response line. */
export async function agentJson(host: TestLabHost, args: string[], flags: string[] = []): Promise<PostmultiResponse & { processExit: number }> {
  const r = await sh(host, `node ${AGENT} --json ${flags.join(" ")} ${args.map(shellQuote).join(" ")}`);
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

/** `node agent.cjs --serve` on a lab host over a real SSH channel (ssh2), NDJSON both ways. */
export interface ServeChannel {
  send(req: object): void;
  /** The answer with this id (and op, when given); waits up to `ms`. */
  answer<T extends AgentResponse>(id: number, op?: string, ms?: number): Promise<T>;
  /** Every answer so far, in arrival order. */
  lines: AgentResponse[];
  /** Close the SSH connection (the agent's stdin ends). */
  close(): void;
}

export async function openServeChannel(lab: Lab, host: TestLabHost): Promise<ServeChannel> {
  const client = new Client();
  await new Promise<void>((resolve, reject) => {
    client.on("ready", () => resolve()).on("error", reject);
    client.connect({ host: host.address, port: host.port, username: lab.user, privateKey: readFileSync(lab.privateKeyPath), readyTimeout: 20_000 });
  });
  const stream = await new Promise<ClientChannel>((resolve, reject) =>
    client.exec(`node ${AGENT} --serve`, (err, s) => (err ? reject(err) : resolve(s))),
  );
  const lines: AgentResponse[] = [];
  let buf = "";
  stream.on("data", (d: Buffer) => {
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      lines.push(JSON.parse(buf.slice(0, nl)) as AgentResponse);
      buf = buf.slice(nl + 1);
    }
  });
  stream.stderr.on("data", () => undefined);
  client.on("error", () => undefined);
  const answer = async <T extends AgentResponse>(id: number, op?: string, ms = 60_000): Promise<T> => {
    const find = () => lines.find((l) => l.id === id && (op === undefined || l.op === op));
    const end = Date.now() + ms;
    while (!find() && Date.now() < end) await new Promise((r) => setTimeout(r, 25));
    const found = find();
    if (!found) throw new Error(`no answer ${id} within ${ms} ms; got ${JSON.stringify(lines)}`);
    return found as T;
  };
  await answer(0, "hello", 20_000);
  return { send: (req) => stream.write(JSON.stringify(req) + "\n"), answer, lines, close: () => client.end() };
}

/** Live (non-zombie) processes named `comm` on the host. */
export async function liveProcesses(host: TestLabHost, comm: string): Promise<string[]> {
  const out = await mustSh(host, "ps -eo pid=,stat=,comm=");
  return out
    .split("\n")
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f[2] === comm && !f[1]!.startsWith("Z"))
    .map((f) => f[0]!);
}

/**
 * The agent's integration files' one set-up: a lab of one host, started before
 * the file's tests with dist/agent.cjs installed on it, then `setup` (which
 * receives the lab and its host), and stopped after them.
 */
export function withLabAgent(o: LabOptions, setup: (lab: Lab, host: TestLabHost) => Promise<void> | void): void {
  let lab: Lab | undefined;
  beforeAll(async () => {
    lab = await startLab(1, o);
    const host = lab.hosts[0]!;
    await installAgent(host);
    await setup(lab, host);
  });
  afterAll(async () => {
    await lab?.stop();
  });
}
