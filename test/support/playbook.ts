// Helpers for the playbook integration tests: run `postfleet run` against a
// lab, write throw-away playbooks, walk the --json document, and watch each
// host's Postfix masters come and go (the watcher runs in the container).
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { PlayHostOutcome, PlaybookDocument, StepResult } from "../../src/orchestrator/steps/step-results.js";
import { postfleet, spawnCli, type CliResult } from "./cli.js";
import type { Lab, TestLabHost } from "./lab.js";

export type { PlaybookDocument, PlayHostOutcome, StepResult };

export const PLAYBOOKS = join(import.meta.dirname, "..", "..", "playbooks");

/** `postfleet -i LAB run PLAYBOOK ARGS` with the lab's own HOME (agent cache, known_hosts untouched). */
export function runPlaybook(
  lab: Lab,
  playbook: string,
  args: string[] = [],
  o: { onSpawn?: (kill: (sig: NodeJS.Signals) => void) => void; cwd?: string } = {},
): Promise<CliResult> {
  return postfleet(["-i", lab.inventoryPath, "run", playbook, ...args], { env: { HOME: join(lab.dir, "home") }, ...o });
}

/** A playbook file with this YAML text, in a fresh temporary directory. */
export function writePlaybook(name: string, yaml: string): string {
  const dir = mkdtempSync(join(tmpdir(), "postfleet-pb-"));
  const file = join(dir, name);
  writeFileSync(file, yaml);
  return file;
}

/** Every host outcome of every play and batch, with its batch index. */
export function hostOutcomes(doc: PlaybookDocument): Array<PlayHostOutcome & { batch: number }> {
  return doc.plays.flatMap((p) => p.batches.flatMap((b) => b.hosts.map((h) => ({ ...h, batch: b.batch }))));
}

/** One host's outcome (first play that has it). */
export function outcomeOf(doc: PlaybookDocument, host: string): PlayHostOutcome & { batch: number } {
  const h = hostOutcomes(doc).find((x) => x.host === host);
  if (!h) throw new Error(`${host} is not in the run document`);
  return h;
}

/** A Postfix master of one instance appeared or went away, seen from inside the host. */
export interface MasterEvent {
  /** "postfix" (primary), "postfix-out", ... (the queue directory's name). */
  instance: string;
  pid: number;
  ev: "up" | "down";
  /** Wall clock (ms) when the watcher saw it. */
  t: number;
  /** up: the process's start time from /proc (ms, wall clock; ±20 ms). */
  startedAt?: number;
  /** down: the last time it was seen alive (ms): it died after this. */
  lastAlive?: number;
  /** up: it was already running when the watch began. */
  initial?: boolean;
}

// Polls every 15 ms (consecutive stops or starts of one host are 100s of ms apart): each instance's master.pid and /proc. A zombie counts as
// gone (PID 1 of a lab container may not reap). One JSON line per event.
const WATCHER = String.raw`
const fs = require("fs");
const out = fs.openSync(process.argv[2], "a");
const hz = 100;
const bootMs = Date.now() - parseFloat(fs.readFileSync("/proc/uptime", "utf8").split(" ")[0]) * 1000;
const stat = (pid) => { try { const s = fs.readFileSync("/proc/" + pid + "/stat", "utf8"); return s.slice(s.lastIndexOf(")") + 2).split(" "); } catch { return null; } };
const alive = (pid) => { const f = stat(pid); return f !== null && f[0] !== "Z" && f[0] !== "X"; };
const known = new Map();
const emit = (o) => fs.writeSync(out, JSON.stringify(o) + "\n");
function tick(initial) {
  const t = Date.now();
  for (const [inst, k] of known) {
    if (alive(k.pid)) k.lastAlive = t;
    else { emit({ instance: inst, pid: k.pid, ev: "down", t, lastAlive: k.lastAlive }); known.delete(inst); }
  }
  let dirs = [];
  try { dirs = fs.readdirSync("/var/spool").filter((d) => /^postfix/.test(d)); } catch {}
  for (const d of dirs) {
    let pid;
    try { pid = parseInt(fs.readFileSync("/var/spool/" + d + "/pid/master.pid", "utf8").trim(), 10); } catch { continue; }
    if (!pid || (known.has(d) && known.get(d).pid === pid) || !alive(pid)) continue;
    let comm = "";
    try { comm = fs.readFileSync("/proc/" + pid + "/comm", "utf8").trim(); } catch {}
    if (comm !== "master") continue;
    const f = stat(pid);
    const startedAt = Math.round(bootMs + (parseInt(f[19], 10) * 1000) / hz);
    known.set(d, { pid, lastAlive: t });
    emit({ instance: d, pid, ev: "up", t, startedAt, ...(initial ? { initial: true } : {}) });
  }
}
tick(true);
fs.writeFileSync(process.argv[2] + ".ready", "");
setInterval(() => tick(false), 15);
`;

const execFileP = promisify(execFile);

export interface MasterWatch {
  /** The events so far, in the order seen. */
  events(): Promise<MasterEvent[]>;
  stop(): Promise<void>;
}

/** Start watching a host's masters (the ones running now are reported "up" first). */
export async function watchMasters(host: TestLabHost): Promise<MasterWatch> {
  const log = `/tmp/masters-${Date.now()}.jsonl`;
  await host.exec(["sh", "-c", `cat > /tmp/master-watch.cjs <<'EOF'\n${WATCHER}\nEOF`]);
  await execFileP("docker", ["exec", "-d", host.containerId, "node", "/tmp/master-watch.cjs", log]);
  for (let i = 0; i < 100; i++) {
    if ((await host.exec(["test", "-e", `${log}.ready`])).exitCode === 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    async events() {
      const r = await host.exec(["cat", log]);
      return r.stdout
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as MasterEvent);
    },
    async stop() {
      await host.exec(["pkill", "-f", `master-watch.cjs ${log}`]);
    },
  };
}

/** Postfix's own log (/var/log/postfix.log) with the line number: "program: text" per line, in file order. */
export async function postfixLogLines(host: TestLabHost): Promise<string[]> {
  const r = await host.exec("cat /var/log/postfix.log 2>/dev/null || true");
  return r.stdout
    .split("\n")
    .map((l) => /^\S+ +\d+ [\d:]+ \S+ ([^\[:]+)(?:\[\d+\])?: (.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => `${m[1]}: ${m[2]}`);
}

/** Empty a host's Postfix log (so that a later read shows one run only). */
export async function clearPostfixLog(host: TestLabHost): Promise<void> {
  await host.exec("truncate -s 0 /var/log/postfix.log 2>/dev/null || true");
}

// A master runs when its pid file names a live (not zombie) process: not `postfix status`, which on a
// multi-instance primary speaks for every instance (postfix-wrapper).
const MASTER_RUNS = `r() { p=$(tr -d ' ' < "$1/pid/master.pid" 2>/dev/null); [ -n "$p" ] && [ -r /proc/$p/stat ] && ! awk '{exit $3=="Z"?0:1}' /proc/$p/stat; }`;

/** Is the master of the instance whose queue directory is `queueDir` running? */
export async function masterRunning(host: TestLabHost, queueDir = "/var/spool/postfix"): Promise<boolean> {
  return (await host.exec(["sh", "-c", `${MASTER_RUNS}; r ${queueDir}`])).exitCode === 0;
}

/** The host's instances (postmulti -l order): name ("-" for the primary) → its master runs. */
export async function runningInstances(host: TestLabHost): Promise<Record<string, boolean>> {
  const r = await host.exec([
    "sh",
    "-c",
    `${MASTER_RUNS}; for d in $(postmulti -l | awk '{print $4}'); do n=$(postconf -c $d -h multi_instance_name); [ -n "$n" ] || n=-; if r "$(postconf -c $d -h queue_directory)"; then echo "$n y"; else echo "$n n"; fi; done`,
  ]);
  return Object.fromEntries(
    r.stdout
      .split("\n")
      .filter(Boolean)
      .map((l) => {
        const [n, y] = l.split(" ");
        return [n!, y === "y"];
      }),
  );
}

/** For assertion messages: stderr, and each failed or unreachable host with its error (from --json or human output). */
export function explain(r: CliResult): string {
  let hosts = "";
  try {
    const doc = JSON.parse(r.stdout) as PlaybookDocument;
    hosts = hostOutcomes(doc)
      .filter((h) => h.status === "failed" || h.status === "unreachable")
      .map((h) => `${h.host} ${h.status}: ${h.error ?? ""} ${JSON.stringify(h.steps.filter((s) => s.status === "failed"))}`)
      .join("\n");
  } catch {
    hosts = r.stdout.slice(-4000);
  }
  return `exit ${r.exitCode}\nstderr: ${r.stderr}\n${hosts}`;
}

/** A `postfleet run` in progress: its output so far, a way to wait for a line, to signal it, and its end. */
export interface RunningPlaybook {
  stdout(): string;
  stderr(): string;
  /** Resolves when stdout (or stderr) matches; rejects after timeoutMs or if the run ends first. */
  waitFor(re: RegExp, o?: { stream?: "stdout" | "stderr"; timeoutMs?: number }): Promise<RegExpMatchArray>;
  signal(sig: NodeJS.Signals): void;
  done: Promise<CliResult>;
}

export function startPlaybook(lab: Lab, playbook: string, args: string[] = []): RunningPlaybook {
  const child = spawnCli(["-i", lab.inventoryPath, "run", playbook, ...args], { env: { HOME: join(lab.dir, "home") } });
  const out = { stdout: "", stderr: "" };
  const waiters = new Set<() => void>();
  const poke = () => [...waiters].forEach((w) => w());
  child.stdout!.on("data", (d: Buffer) => ((out.stdout += d.toString()), poke()));
  child.stderr!.on("data", (d: Buffer) => ((out.stderr += d.toString()), poke()));
  let ended = false;
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (exitCode) => {
      ended = true;
      poke();
      resolve({ exitCode, stdout: out.stdout, stderr: out.stderr });
    });
  });
  return {
    stdout: () => out.stdout,
    stderr: () => out.stderr,
    signal: (sig) => child.kill(sig),
    done,
    waitFor(re, o = {}) {
      const stream = o.stream ?? "stdout";
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => finish(new Error(`timed out waiting for ${re} on ${stream}:\n${out.stdout}\n${out.stderr}`)), o.timeoutMs ?? 90_000);
        const check = () => {
          const m = out[stream].match(re);
          if (m) finish(undefined, m);
          else if (ended) finish(new Error(`the run ended before ${re} appeared on ${stream}:\n${out.stdout}\n${out.stderr}`));
        };
        function finish(err?: Error, m?: RegExpMatchArray) {
          clearTimeout(timer);
          waiters.delete(check);
          if (err) reject(err);
          else resolve(m!);
        }
        waiters.add(check);
        check();
      });
    },
  };
}

/** Wait until `cond` holds (polled), or fail with `what`. */
export async function until(cond: () => Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
