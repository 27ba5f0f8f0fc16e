// What the suite checks on a host after a fault: every instance's main.cf
// and master.cf as Postfix parses them (whole files: equal to the state
// before or after the operation, never in between), which instances run,
// and what was left behind (agents, sleeps, postconf, ssh sessions) on the
// host and on the controller.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { TestLabHost } from "../lab.js";

const run = promisify(execFile);

/** One instance's configuration as postconf prints it: -n (main.cf) and -M (master.cf). */
export interface InstanceConfig {
  main: string;
  master: string;
  /** postconf refused the files (exit status and message). */
  error?: string;
}
/** Config directory → configuration. */
export type ConfigSnapshot = Record<string, InstanceConfig>;

const SNAPSHOT = String.raw`
for d in /etc/postfix*; do
  [ -f "$d/main.cf" ] || continue
  printf '@@DIR %s\n' "$d"
  if n=$(postconf -c "$d" -n 2>/tmp/pc.err) && m=$(postconf -c "$d" -M 2>>/tmp/pc.err); then
    printf '%s\n@@MASTER\n%s\n' "$n" "$m"
  else
    printf '@@ERROR %s\n' "$(tr '\n' ' ' </tmp/pc.err)"
  fi
done`;

export async function configSnapshot(host: TestLabHost): Promise<ConfigSnapshot> {
  return parseConfigSnapshot((await host.exec(SNAPSHOT)).stdout);
}

function parseConfigSnapshot(stdout: string): ConfigSnapshot {
  const out: ConfigSnapshot = {};
  for (const part of stdout.split("@@DIR ").slice(1)) {
    const nl = part.indexOf("\n");
    const dir = part.slice(0, nl);
    const body = part.slice(nl + 1);
    if (body.startsWith("@@ERROR")) out[dir] = { main: "", master: "", error: body.trim() };
    else {
      const [main = "", master = ""] = body.split("@@MASTER\n");
      out[dir] = { main, master };
    }
  }
  return out;
}

/**
 * Files that are neither as before nor as after (each file on its own: a
 * crash between main.cf and master.cf edits leaves each whole), or that
 * postconf cannot parse. Returns one line per problem.
 */
export function halfWritten(now: ConfigSnapshot, allowed: ConfigSnapshot[], host = ""): string[] {
  const problems: string[] = [];
  const dirs = new Set([...Object.keys(now), ...allowed.flatMap((a) => Object.keys(a))]);
  for (const dir of dirs) {
    const n = now[dir];
    const options = allowed.map((a) => a[dir]);
    if (!n) {
      if (!options.some((o) => o === undefined)) problems.push(`${host}${dir}: gone`);
      continue;
    }
    if (n.error) {
      problems.push(`${host}${dir}: postconf fails: ${n.error}`);
      continue;
    }
    if (!options.some((o) => o?.main === n.main)) problems.push(`${host}${dir}/main.cf: neither before nor after:\n${n.main}`);
    if (!options.some((o) => o?.master === n.master)) problems.push(`${host}${dir}/master.cf: neither before nor after:\n${n.master}`);
  }
  return problems;
}

/** main.cf parameter values (postconf -n) of one instance's snapshot. */
export function mainParams(c: InstanceConfig | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of (c?.main ?? "").split("\n")) {
    const m = /^(\S+) = ?(.*)$/.exec(l);
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

const RUNNING = `for d in $(postmulti -l | awk '{print $4}'); do if postfix -c $d status >/dev/null 2>&1; then echo "$d y"; else echo "$d n"; fi; done`;

/** Instance config directory → running (postfix status), for every instance postmulti lists. */
export async function running(host: TestLabHost): Promise<Record<string, boolean>> {
  return parseRunning((await host.exec(RUNNING)).stdout);
}

function parseRunning(stdout: string): Record<string, boolean> {
  return Object.fromEntries(
    stdout
      .split("\n")
      .filter(Boolean)
      .map((l) => l.split(" "))
      .map(([d, y]) => [d!, y === "y"]),
  );
}

const MASTERS = `for f in /var/spool/postfix*/pid/master.pid; do p=$(tr -d ' \\n' < "$f" 2>/dev/null); [ -n "$p" ] && [ "$(cat /proc/$p/comm 2>/dev/null)" = master ] && echo "$(basename $(dirname $(dirname $f))) $p"; done; true`;

/** Queue directory name → pid of its running master (to tell a restart from none). */
export async function masterPids(host: TestLabHost): Promise<Record<string, number>> {
  return parseMasters((await host.exec(MASTERS)).stdout);
}

function parseMasters(stdout: string): Record<string, number> {
  return Object.fromEntries(
    stdout
      .split("\n")
      .filter(Boolean)
      .map((l) => l.split(" "))
      .map(([q, p]) => [q!, Number(p)]),
  );
}

/** What a fault case compares on a host before, during and after a run. */
export interface HostState {
  config: ConfigSnapshot;
  running: Record<string, boolean>;
  /** Queue directory name (postfix, postfix-out) → master pid, for the running ones. */
  masters: Record<string, number>;
}

/**
 * configSnapshot, running and masterPids in one docker exec (a fault case
 * takes the state of every host three times; each exec costs the shared
 * cores a runc start).
 */
export async function hostState(host: TestLabHost): Promise<HostState> {
  const r = await host.exec(`${SNAPSHOT}\necho '@@RUNNING'\n${RUNNING}\necho '@@MASTERS'\n${MASTERS}`);
  // Each marker on a line of its own (the config part may be empty: a host without Postfix's directories).
  const [config = "", rest = ""] = r.stdout.split(/^@@RUNNING\n/m);
  const [run = "", masters = ""] = rest.split(/^@@MASTERS\n/m);
  return { config: parseConfigSnapshot(config), running: parseRunning(run), masters: parseMasters(masters) };
}

// What a postfleet run may leave on a host while it runs, and must not after:
// the agent (serve mode), its commands, sleeps of -x/wait commands, and the
// ssh session (sshd's per-connection processes; PID 1 is the listener).
const RESIDENT = /postfleet-agent \(resident\)/;
const HOST_LEFTOVER = /--serve|postfleet|\bsleep\b|\bpostconf\b|postfix-script|postmulti|sshd: \S+(@| \[priv\])|\bsudo\b/;

/** Processes of a postfleet run still on the host after `graceMs` (polled). */
export async function hostLeftovers(host: TestLabHost, o: { graceMs?: number; residentAllowed?: boolean } = {}): Promise<string[]> {
  const deadline = Date.now() + (o.graceMs ?? 12_000);
  for (;;) {
    const r = await host.exec("ps -eo pid=,ppid=,stat=,args=");
    let left = r.stdout
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l && HOST_LEFTOVER.test(l) && !/^1 /.test(l) && !/ps -eo|sh -c/.test(l) && !/ Z/.test(l));
    // A run that keeps its agent (the default) leaves exactly one resident agent, idle; a second is a leak.
    const residents = left.filter((l) => RESIDENT.test(l));
    if (o.residentAllowed && residents.length === 1) left = left.filter((l) => !RESIDENT.test(l));
    if (left.length === 0 || Date.now() > deadline) return left.map((l) => `${host.name}: ${l}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

/**
 * On the controller, after the CLI exited: processes whose command line names
 * `marker` (the lab directory: inventories, keys, HOME live there) and TCP
 * connections still established to the lab's ports.
 */
export async function controllerLeftovers(marker: string, ports: number[], graceMs = 3000): Promise<string[]> {
  const deadline = Date.now() + graceMs;
  for (;;) {
    const ps = (await run("ps", ["-eo", "pid=,args="])).stdout
      .split("\n")
      .filter((l) => l.includes(marker) && !l.includes("vitest"))
      .map((l) => `controller process: ${l.trim()}`);
    const ss = (await run("ss", ["-tnH", "state", "established"])).stdout
      .split("\n")
      .filter((l) => ports.some((p) => l.trim().split(/\s+/).at(-1) === `127.0.0.1:${p}`))
      .map((l) => `controller connection: ${l.trim()}`);
    const left = [...ps, ...ss];
    if (left.length === 0 || Date.now() > deadline) return left;
    await new Promise((r) => setTimeout(r, 200));
  }
}
