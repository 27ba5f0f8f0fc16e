// The simulated fleet for the scale case: N hosts served by a few worker
// processes (bench/sim/hosts.mjs, ssh2's Server, one port on 127.0.0.1 per
// host), a known_hosts with each host's entry (host key checking stays
// strict), a login key and a YAML inventory in group `mta`.
import { fork, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { generateLoginKey, generateUsableKeyPair } from "../../src/lab/keys.js";
import { renderInventory, renderKnownHosts, type LabHost } from "../../src/lab/lab-inventory.js";

export interface SimFleet {
  hosts: LabHost[];
  inventory: string;
  knownHostsPath: string;
  /** Connections, execs, uploads and requests the workers have served so far. */
  stats(): Promise<{ connections: number; execs: number; uploads: number; requests: number }>;
  stop(): Promise<void>;
}

export interface SimOptions {
  /** Worker processes (default 3). */
  workers?: number;
  /** First port (default 12000): hosts use basePort .. basePort+n-1. */
  basePort?: number;
  /** The agent bundle the hosts "have" in their cache (its sha256 verifies). */
  agentBundle: string;
  /** How long a simulated `postfix start|stop` takes (default 20 ms). */
  serviceMs?: number;
}

export const simName = (i: number, n: number) => `mta${String(i + 1).padStart(String(n).length, "0")}`;

export async function startSimFleet(n: number, dir: string, o: SimOptions): Promise<SimFleet> {
  dir = resolve(dir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const login = generateLoginKey(dir);
  const workers = Math.max(1, Math.min(o.workers ?? 3, n));
  const basePort = o.basePort ?? 12000;
  const agentSha256 = createHash("sha256").update(readFileSync(o.agentBundle)).digest("hex");
  const hosts: LabHost[] = [];
  const children: ChildProcess[] = [];
  const started: Array<Promise<void>> = [];
  for (let w = 0; w < workers; w++) {
    const key = generateUsableKeyPair("ed25519");
    const ports: Array<{ port: number; name: string }> = [];
    for (let i = w; i < n; i += workers) ports.push({ port: basePort + i, name: simName(i, n) });
    for (const p of ports) {
      hosts.push({ name: p.name, address: "127.0.0.1", port: p.port, internalAddress: "127.0.0.1", hostKey: key.public, containerId: `sim-${w}` });
    }
    const child = fork(join(import.meta.dirname, "hosts.mjs"), [], { execArgv: [], stdio: ["ignore", "inherit", "inherit", "ipc"] });
    children.push(child);
    started.push(
      new Promise((ok, fail) => {
        child.on("message", (m: { ready?: boolean; error?: string }) => {
          if (m.ready) ok();
          if (m.error) fail(new Error(`simulated hosts, worker ${w}: ${m.error}`));
        });
        child.on("exit", (code) => fail(new Error(`simulated hosts, worker ${w} exited ${code}`)));
      }),
    );
    child.send({ hostKey: key.private, agentSha256, ports, serviceMs: o.serviceMs ?? 20 });
  }
  await Promise.all(started);
  hosts.sort((a, b) => a.port - b.port);
  const knownHostsPath = join(dir, "known_hosts");
  writeFileSync(knownHostsPath, renderKnownHosts(hosts));
  const inventory = join(dir, "inventory.yml");
  writeFileSync(inventory, renderInventory(hosts, { user: "postfleet", privateKeyPath: login.privateKeyPath, knownHostsPath }));
  const ask = (c: ChildProcess) =>
    new Promise<Record<string, number>>((ok) => {
      const on = (m: { stats?: Record<string, number> }) => {
        if (!m.stats) return;
        c.off("message", on);
        ok(m.stats);
      };
      c.on("message", on);
      c.send({ stats: true });
    });
  return {
    hosts,
    inventory,
    knownHostsPath,
    async stats() {
      const all = await Promise.all(children.map(ask));
      const sum = (k: string) => all.reduce((a, s) => a + (s[k] ?? 0), 0);
      return { connections: sum("connections"), execs: sum("execs"), uploads: sum("uploads"), requests: sum("requests") };
    },
    async stop() {
      for (const c of children) {
        c.removeAllListeners("exit");
        c.kill();
      }
    },
  };
}
