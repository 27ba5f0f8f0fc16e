// The scale case (issue 20, part C): the controller over 1,000 to 10,000
// simulated hosts (bench/sim/hosts.mjs) with several --forks: `postmulti -l`,
// `report` and a rolling restart (bench/sim/rolling-restart.yml). Per run:
// wall time, the controller's CPU time and peak RSS and its event loop's
// delay (bench/sim/probe.mjs, preloaded); per fleet size, `inventory
// --list-hosts`; at the largest size a CPU profile (node --cpu-prof) of the first command, summed
// by the source file of each function (the bundle's `// src/...` markers).
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { startSimFleet, type SimFleet } from "./fleet.js";

export interface SimRun {
  hosts: number;
  forks: number;
  command: string;
  wallS: number;
  cpuMs: number;
  cpuMsPerHost: number;
  maxRssMB: number;
  eventLoopDelayMs: { mean: number; p50: number; p99: number; max: number };
  exitCode: number;
  /** Records in the run's journal (playbook runs), each one written and fsync'd. */
  journalRecords?: number;
}

export interface SimProfile {
  hosts: number;
  forks: number;
  command: string;
  totalMs: number;
  /** Self time by where the code lives: a src/ file of the bundle, a package, Node.js, GC, idle. */
  bySource: Array<{ where: string; ms: number }>;
  /** The functions with the most self time. */
  topFunctions: Array<{ fn: string; where: string; ms: number }>;
}

export interface SimResults {
  runs: SimRun[];
  profiles: SimProfile[];
  /** Controller start alone (`--version`), subtracted for the marginal figures. */
  baseline?: SimRun;
}

export interface SimCaseOptions {
  sizes: number[];
  forks: number[];
  commands: string[];
  workers: number;
  /** A CPU profile of the first command at the largest fleet (default true). */
  profile?: boolean;
  /** XDG_STATE_HOME of the runs (their journals); default a directory on /dev/shm. */
  stateDir?: string;
  /** -T: the SSH connect timeout (s); a starved controller finishes handshakes late. */
  connectTimeoutS: number;
  cli: string;
  agent: string;
  workDir: string;
  log: (m: string) => void;
  /** Called with the results so far after each run. */
  onProgress?: (r: SimResults) => void;
}

const COMMANDS: Record<string, (playbook: string) => string[]> = {
  "postmulti -l": () => ["postmulti", "-l"],
  report: () => ["report"],
  "rolling restart": (playbook) => ["run", playbook],
  "inventory --list-hosts": () => ["inventory", "--list-hosts", "all"],
};

/**
 * Where the runs' journals go (XDG_STATE_HOME). A playbook run writes and fsyncs one journal record
 * per transition (about 25 per host here): on this machine's disk that, not the controller's CPU,
 * bounds a rolling restart (see docs/scaling.md), so the case keeps them on tmpfs (/dev/shm) by
 * default to measure the controller; --sim-state DIR puts them on a disk to measure that bound.
 */
let stateHome = "";

function controller(cli: string, args: string[], probeFile: string, nodeArgs: string[] = []): Promise<{ wallS: number; exitCode: number; stderr: string }> {
  const t0 = process.hrtime.bigint();
  return new Promise((ok) => {
    execFile(
      "node",
      ["--import", join(import.meta.dirname, "probe.mjs"), ...nodeArgs, cli, ...args],
      { env: { ...process.env, POSTFLEET_SIM_PROBE: probeFile, NO_COLOR: "1", XDG_STATE_HOME: stateHome }, maxBuffer: 1 << 30 },
      (err, _out, stderr) => {
        const wallS = +(Number(process.hrtime.bigint() - t0) / 1e9).toFixed(2);
        ok({ wallS, exitCode: err ? ((err as { code?: number }).code ?? 1) : 0, stderr: String(stderr) });
      },
    );
  });
}

async function measured(o: SimCaseOptions, hosts: number, forks: number, command: string, args: string[], nodeArgs: string[] = []): Promise<SimRun> {
  const probeFile = join(o.workDir, "probe.json");
  rmSync(probeFile, { force: true });
  const r = await controller(o.cli, args, probeFile, nodeArgs);
  const p = JSON.parse(readFileSync(probeFile, "utf8")) as { cpuMs: number; maxRssMB: number; eventLoopDelayMs: SimRun["eventLoopDelayMs"] };
  const runs = join(stateHome, "postfleet", "runs");
  const newest = existsSync(runs) ? readdirSync(runs).sort().at(-1) : undefined;
  const journal = newest ? join(runs, newest, "journal.jsonl") : "";
  const journalRecords = journal && existsSync(journal) ? readFileSync(journal, "utf8").split("\n").filter(Boolean).length : undefined;
  if (newest) rmSync(join(runs, newest), { recursive: true, force: true });
  if (r.exitCode !== 0) o.log(`${command} N=${hosts} exited ${r.exitCode}: ${r.stderr.trim().split("\n").slice(-3).join(" | ")}`);
  return { hosts, forks, command, wallS: r.wallS, cpuMs: p.cpuMs, cpuMsPerHost: +(p.cpuMs / Math.max(1, hosts)).toFixed(2), maxRssMB: p.maxRssMB, eventLoopDelayMs: p.eventLoopDelayMs, exitCode: r.exitCode, ...(journalRecords ? { journalRecords } : {}) };
}

/** Where each line of the bundle comes from: its `// src/...` (or package) marker. */
function bundleSources(cli: string): (line: number) => string {
  const lines = readFileSync(cli, "utf8").split("\n");
  const marks: Array<[number, string]> = [];
  lines.forEach((l, i) => {
    const m = /^\/\/ (src\/\S+|node_modules\/\S+)$/.exec(l);
    if (m) marks.push([i, m[1]!]);
  });
  return (line) => {
    let lo = 0;
    let hi = marks.length - 1;
    // A minified bundle has no markers: all of it is "dist/cli.js" (postfleet and the packages bundled with it).
    let found = "dist/cli.js";
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (marks[mid]![0] <= line) {
        found = marks[mid]![1];
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  };
}

interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number }>;
  startTime: number;
  endTime: number;
  samples: number[];
}

export function summarise(file: string, cli: string, meta: { hosts: number; forks: number; command: string }): SimProfile {
  const prof = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const totalMs = (prof.endTime - prof.startTime) / 1000;
  const perSample = totalMs / Math.max(1, prof.samples.length);
  const src = bundleSources(cli);
  const where = (cf: CpuProfile["nodes"][number]["callFrame"]) => {
    if (cf.url.endsWith(basename(cli))) return src(cf.lineNumber);
    if (!cf.url) return cf.functionName.startsWith("(") ? cf.functionName : "(native)";
    const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(cf.url);
    if (nm) return `node_modules/${nm[1]}`;
    return cf.url.startsWith("node:") ? "node:" + cf.url.slice(5).split("/")[0] : cf.url;
  };
  const bySource = new Map<string, number>();
  const byFn = new Map<string, { fn: string; where: string; ms: number }>();
  for (const n of prof.nodes) {
    const ms = (n.hitCount ?? 0) * perSample;
    if (!ms) continue;
    const w = where(n.callFrame);
    bySource.set(w, (bySource.get(w) ?? 0) + ms);
    const key = `${n.callFrame.functionName}@${w}`;
    const e = byFn.get(key) ?? byFn.set(key, { fn: n.callFrame.functionName || "(anonymous)", where: w, ms: 0 }).get(key)!;
    e.ms += ms;
  }
  const round = <T extends { ms: number }>(xs: T[]) => xs.sort((a, b) => b.ms - a.ms).map((x) => ({ ...x, ms: Math.round(x.ms) }));
  return {
    ...meta,
    totalMs: Math.round(totalMs),
    bySource: round([...bySource].map(([w, ms]) => ({ where: w, ms }))).slice(0, 20),
    topFunctions: round([...byFn.values()]).slice(0, 20),
  };
}

export async function runSimCase(o: SimCaseOptions): Promise<SimResults> {
  const results: SimResults = { runs: [], profiles: [] };
  mkdirSync(o.workDir, { recursive: true });
  stateHome = o.stateDir ?? (existsSync("/dev/shm") ? join("/dev/shm", "postfleet-bench-sim-state") : join(o.workDir, "state"));
  rmSync(stateHome, { recursive: true, force: true });
  mkdirSync(stateHome, { recursive: true, mode: 0o700 });
  const playbook = join(import.meta.dirname, "rolling-restart.yml");
  results.baseline = await measured(o, 0, 0, "controller start (--version)", ["--version"]);
  const sizes = [...o.sizes].sort((a, b) => a - b);
  for (const size of sizes) {
    const dir = join(o.workDir, `fleet-${size}`);
    rmSync(dir, { recursive: true, force: true });
    o.log(`sim: starting ${size} simulated hosts in ${o.workers} workers`);
    const fleet: SimFleet = await startSimFleet(size, dir, { workers: o.workers, agentBundle: o.agent });
    try {
      const inv = ["-i", fleet.inventory];
      results.runs.push(await measured(o, size, 0, "inventory --list-hosts", ["inventory", ...inv, "--list-hosts", "all"]));
      for (const forks of o.forks) {
        for (const c of o.commands) {
          const args = [...inv, "-f", String(forks), "-T", String(o.connectTimeoutS), "--agent-persist", "0", ...COMMANDS[c]!(playbook)];
          const run = await measured(o, size, forks, c, args);
          results.runs.push(run);
          o.log(`sim N=${size} forks=${forks} ${c}: ${run.wallS} s, ${run.cpuMs} ms CPU (${run.cpuMsPerHost} ms/host), ${run.maxRssMB} MB, loop delay p99 ${run.eventLoopDelayMs.p99} ms max ${run.eventLoopDelayMs.max} ms`);
          o.onProgress?.(results);
        }
      }
      if (o.profile !== false && size === sizes[sizes.length - 1]) {
        const forks = Math.max(...o.forks);
        for (const c of o.commands.slice(0, 1)) {
          const profDir = join(o.workDir, "cpu-prof");
          rmSync(profDir, { recursive: true, force: true });
          const args = [...inv, "-f", String(forks), "-T", String(o.connectTimeoutS), "--agent-persist", "0", ...COMMANDS[c]!(playbook)];
          await measured(o, size, forks, c, args, ["--cpu-prof", "--cpu-prof-dir", profDir]);
          const file = readdirSync(profDir).find((f) => f.endsWith(".cpuprofile"));
          if (file) results.profiles.push(summarise(join(profDir, file), o.cli, { hosts: size, forks, command: c }));
          o.onProgress?.(results);
        }
      }
      o.log(`sim N=${size}: the simulated hosts served ${JSON.stringify(await fleet.stats())}`);
    } finally {
      await fleet.stop();
    }
  }
  return results;
}

/** Marginal cost per host between the smallest and the largest fleet, same forks and command. */
function marginal(runs: SimRun[]): Array<{ forks: number; command: string; from: number; to: number; cpuMsPerHost: number; mbPerHost: number }> {
  const out: ReturnType<typeof marginal> = [];
  const keys = new Set(runs.map((r) => `${r.forks}\t${r.command}`));
  for (const k of keys) {
    const xs = runs.filter((r) => `${r.forks}\t${r.command}` === k).sort((a, b) => a.hosts - b.hosts);
    if (xs.length < 2) continue;
    const a = xs[0]!;
    const b = xs[xs.length - 1]!;
    const d = b.hosts - a.hosts;
    out.push({ forks: a.forks, command: a.command, from: a.hosts, to: b.hosts, cpuMsPerHost: +((b.cpuMs - a.cpuMs) / d).toFixed(2), mbPerHost: +((b.maxRssMB - a.maxRssMB) / d).toFixed(4) });
  }
  return out;
}

export function simMarkdown(r: SimResults): string {
  const lines = ["", "Scale case (simulated hosts, bench/sim):", ""];
  if (r.baseline) lines.push(`Controller start alone (--version): ${r.baseline.wallS} s, ${r.baseline.cpuMs} ms CPU, ${r.baseline.maxRssMB} MB`, "");
  lines.push("| hosts | forks | command | wall s | CPU ms | CPU ms/host | peak RSS MB | loop delay p50 / p99 / max ms | journal records | exit |", "|---|---|---|---|---|---|---|---|---|---|");
  for (const x of r.runs) {
    const d = x.eventLoopDelayMs;
    lines.push(`| ${x.hosts} | ${x.forks || ""} | ${x.command} | ${x.wallS} | ${x.cpuMs} | ${x.cpuMsPerHost} | ${x.maxRssMB} | ${d.p50} / ${d.p99} / ${d.max} | ${x.journalRecords ?? ""} | ${x.exitCode} |`);
  }
  const m = marginal(r.runs);
  if (m.length) {
    lines.push("", "Marginal cost per host (largest fleet minus smallest, same forks and command):", "");
    for (const x of m) lines.push(`- ${x.command}, forks ${x.forks || "-"}, ${x.from} → ${x.to}: ${x.cpuMsPerHost} ms CPU/host, ${x.mbPerHost} MB/host`);
  }
  for (const p of r.profiles) {
    lines.push("", `CPU profile, ${p.command}, N=${p.hosts}, forks ${p.forks} (${p.totalMs} ms profiled), self time by source: ${p.bySource.map((s) => `${s.where} ${s.ms}`).join(", ")}`);
    lines.push(`  top functions: ${p.topFunctions.slice(0, 12).map((f) => `${f.fn} (${f.where}) ${f.ms}`).join(", ")}`);
  }
  return `${lines.join("\n")}\n`;
}

export const SIM_COMMANDS = Object.keys(COMMANDS).filter((c) => c !== "inventory --list-hosts");
export const simWorkDir = () => join(tmpdir(), "postfleet-bench-sim");
