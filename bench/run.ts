// postfleet side by side with Ansible and parallel-ssh on the same lab fleet,
// in the same run (issue 14). Run: npm run bench -- [options]
//   --hosts N       fleet size for cases a-c (default 50)
//   --scale LIST    fleet sizes for case d (default 50,200)
//   --cases LIST    any of a,b,c,d,e,floors (default a,b,c,d,e,floors)
//   --series N      case e: runs back to back in each series (default 5)
//   --runs N        runs of each command, tools alternating (default 3; case d: --scale-runs, default 1)
//   --out DIR       where results go (default bench/results)
//   --sim-hosts LIST   case sim (simulated hosts, bench/sim): fleet sizes (default 1000,5000,10000)
//   --sim-forks LIST   case sim: --forks values (default 50,200,500)
//   --sim-commands L   case sim: any of "postmulti -l",report,"rolling restart" (default all three)
//   --sim-workers N    case sim: worker processes serving the simulated hosts (default 3)
//   --sim-timeout S    case sim: the controller's -T, SSH connect timeout (default 30)
//   --sim-state DIR    case sim: XDG_STATE_HOME for the runs' journals (default on /dev/shm)
//   --sim-profile 0    case sim: no CPU profile at the largest fleet
// Every command runs under /usr/bin/time: wall time, CPU seconds of the
// controller's process tree (the tool and its ssh children; the hosts are
// containers, not children) and the largest resident set among them.
import { execFileSync, spawn } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync, readdirSync } from "node:fs";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { startFleet, type BenchFleet } from "./fleet.js";
import { runSimCase, SIM_COMMANDS, simMarkdown, simWorkDir, type SimResults } from "./sim/case.js";

const { values: opt } = parseArgs({
  options: {
    hosts: { type: "string", default: "50" },
    scale: { type: "string", default: "50,200" },
    cases: { type: "string", default: "a,b,c,d,e,floors" },
    series: { type: "string", default: "5" },
    runs: { type: "string", default: "3" },
    "scale-runs": { type: "string", default: "1" },
    out: { type: "string", default: "bench/results" },
    "sim-hosts": { type: "string", default: "1000,5000,10000" },
    "sim-forks": { type: "string", default: "50,200,500" },
    "sim-commands": { type: "string", default: SIM_COMMANDS.join(",") },
    "sim-workers": { type: "string", default: "3" },
    "sim-timeout": { type: "string", default: "30" },
    "sim-state": { type: "string" },
    "sim-profile": { type: "string", default: "1" },
  },
});
const ROOT = resolve(import.meta.dirname, "..");
// A private copy of the build: others rebuilding dist/ during a bench must not change what is measured.
const PRIVATE = join(ROOT, "node_modules", ".cache", opt.cases === "sim" ? "postfleet-bench-sim" : "postfleet-bench");
const CLI = join(PRIVATE, "cli.js");
const cases = new Set(opt.cases!.split(","));
const log = (m: string) => process.stderr.write(`bench: ${m}\n`);

function has(cmd: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** ansible, parallel-ssh (pssh) and hyperfine from Debian's packages, when missing. */
function ensureTools(): void {
  const missing = [
    ["ansible", "ansible"],
    ["parallel-ssh", "pssh"],
    ["hyperfine", "hyperfine"],
  ].filter(([cmd]) => !has(cmd!));
  if (!missing.length) return;
  const pkgs = missing.map(([, p]) => p!);
  log(`installing ${pkgs.join(", ")} with apt-get`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  execFileSync("apt-get", ["update", "-qq"], { stdio: ["ignore", "ignore", "inherit"], env });
  execFileSync("apt-get", ["install", "-y", "-qq", ...pkgs], { stdio: ["ignore", "ignore", "inherit"], env });
}

interface Command {
  /** Row label, e.g. "ansible raw (cold)". */
  label: string;
  tool: "postfleet" | "ansible" | "parallel-ssh" | "floor" | "postfix";
  argv: string[];
  env?: Record<string, string>;
  /** Before each run (not timed): e.g. remove Ansible's ControlPersist sockets. */
  prepare?: () => void;
  /** After each run (not timed): e.g. read what it printed. */
  after?: () => void;
}

interface Sample {
  wallS: number;
  cpuS: number;
  maxRssMB: number;
  exitCode: number;
}

function timed(c: Command): Promise<Sample> {
  const out = join(PRIVATE, "time.out");
  return new Promise((resolvePromise, reject) => {
    const p = spawn("/usr/bin/time", ["-f", "%e %U %S %M", "-o", out, ...c.argv], {
      stdio: ["ignore", "ignore", "pipe"],
      env: { ...process.env, ...c.env },
    });
    let err = "";
    p.stderr.on("data", (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
    p.on("error", reject);
    p.on("close", (code) => {
      const [e, u, s, m] = readFileSync(out, "utf8").trim().split("\n").pop()!.split(" ").map(Number);
      if (code !== 0) log(`${c.label} exited ${code}: ${err.trim().split("\n").slice(-3).join(" | ")}`);
      resolvePromise({ wallS: e!, cpuS: +(u! + s!).toFixed(2), maxRssMB: +(m! / 1024).toFixed(1), exitCode: code ?? -1 });
    });
  });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : +((s[m - 1]! + s[m]!) / 2).toFixed(3);
};

interface Row {
  case: string;
  hosts: number;
  label: string;
  tool: string;
  runs: Sample[];
  wallS: number;
  cpuS: number;
  maxRssMB: number;
  failedRuns: number;
}

/** Called after each case with the rows so far (results are written as they come). */
let onRows: (rows: Row[]) => void = () => undefined;

/** Each command `runs` times, the commands alternating (a, b, c, a, b, c, …). */
async function measure(caseName: string, hosts: number, commands: Command[], runs: number): Promise<Row[]> {
  const samples = new Map<string, Sample[]>(commands.map((c) => [c.label, []]));
  for (let r = 0; r < runs; r++) {
    for (const c of commands) {
      c.prepare?.();
      const s = await timed(c);
      c.after?.();
      samples.get(c.label)!.push(s);
      log(`${caseName} N=${hosts} run ${r + 1}/${runs} ${c.label}: ${s.wallS} s wall, ${s.cpuS} s CPU, ${s.maxRssMB} MB${s.exitCode ? ` (exit ${s.exitCode})` : ""}`);
    }
  }
  const rows = commands.map((c) => {
    const xs = samples.get(c.label)!;
    return {
      case: caseName,
      hosts,
      label: c.label,
      tool: c.tool,
      runs: xs,
      wallS: median(xs.map((x) => x.wallS)),
      cpuS: median(xs.map((x) => x.cpuS)),
      maxRssMB: median(xs.map((x) => x.maxRssMB)),
      failedRuns: xs.filter((x) => x.exitCode !== 0).length,
    };
  });
  onRows(rows);
  return rows;
}

function tools(f: BenchFleet) {
  const ansibleEnv = { ANSIBLE_CONFIG: f.ansibleConfig, ANSIBLE_HOST_KEY_CHECKING: "True" };
  const cold = () => {
    for (const x of readdirSync(f.controlPath)) rmSync(join(f.controlPath, x), { force: true });
  };
  // A fresh agent per run: --agent-persist 0, or the default would keep one and later runs reach it.
  const postfleet = (label: string, ...args: string[]): Command => ({ label, tool: "postfleet", argv: ["node", CLI, "-i", f.inventory, "-f", "50", "--agent-persist", "0", ...args] });
  // The resident agent: a warm-up run with --agent-persist left one on every host; each measured run reaches it.
  // An hour's idle time (the most a resident agent takes): one round of case c's commands takes
  // over 10 minutes, and an agent that idled out would make the next "resident" run a first run.
  const resident = (label: string, ...args: string[]): Command => ({
    label: `${label} (resident agent)`,
    tool: "postfleet",
    argv: ["node", CLI, "-i", f.inventory, "-f", "50", "--agent-persist", "3600", ...args],
    env: { XDG_STATE_HOME: join(PRIVATE, "state") },
  });
  const ansible = (label: string, module: "raw" | "command", cmd: string, isCold: boolean): Command => ({
    label,
    tool: "ansible",
    argv: ["ansible", "all", "-m", module, "-a", cmd],
    env: ansibleEnv,
    ...(isCold ? { prepare: cold } : {}),
  });
  const playbook = (label: string, file: string, isCold: boolean): Command => ({
    label,
    tool: "ansible",
    argv: ["ansible-playbook", join(ROOT, "bench", "playbooks", file)],
    env: ansibleEnv,
    ...(isCold ? { prepare: cold } : {}),
  });
  const pssh = (cmd: string): Command => ({
    label: "parallel-ssh -p 50",
    tool: "parallel-ssh",
    argv: ["parallel-ssh", "-p", "50", "-t", "0", "-h", f.psshHosts, "-x", f.psshSshArgs.join(" "), cmd],
  });
  const floor = (label: string, cmd: string): Command => ({ label, tool: "floor", argv: ["node", join(ROOT, "bench", "floor.mjs"), f.floorHosts, cmd] });
  return { postfleet, resident, ansible, playbook, pssh, floor };
}

/** Postfix's own time for case (c): stop then start, run directly on each 10-host batch at once (bare ssh2, lockstep batches). */
function postfixFloor(f: BenchFleet): Command {
  return {
    label: "Postfix itself: stop+start per 10-host batch (bare ssh2)",
    tool: "postfix",
    argv: ["node", join(ROOT, "bench", "floor.mjs"), f.floorHosts, "postmulti -p stop && postmulti -p start", "50", "10"],
  };
}

interface HostProfile {
  hosts: number;
  command: string;
  /** Median and max over the hosts of each phase (ms), from the run document's `timings`. */
  phases: Record<string, { median: number; max: number }>;
}

/** One `postfleet --json postmulti -l`: where each host's time went (the per-host `timings`). */
function hostProfile(f: BenchFleet): HostProfile {
  const out = execFileSync("node", [CLI, "-i", f.inventory, "-f", "50", "--agent-persist", "0", "--json", "postmulti", "-l"], { encoding: "utf8", maxBuffer: 64 << 20 });
  const doc = JSON.parse(out) as { hosts: Array<{ durationMs: number; timings?: Record<string, unknown> & { requests: Array<{ ms: number }> } }> };
  const pick = (get: (h: (typeof doc.hosts)[number]) => number | undefined) => {
    const xs = doc.hosts.map(get).filter((x): x is number => typeof x === "number");
    return { median: median(xs), max: Math.max(...xs) };
  };
  const phases: HostProfile["phases"] = {};
  for (const k of ["connectMs", "authMs", "agentMs", "helloMs"]) phases[k] = pick((h) => h.timings?.[k] as number | undefined);
  phases.requestMs = pick((h) => h.timings?.requests[0]?.ms);
  phases.hostMs = pick((h) => h.durationMs);
  return { hosts: f.hosts.length, command: "postfleet --json postmulti -l", phases };
}

interface RestartProfile {
  hosts: number;
  command: string;
  /** Per batch: its wall time, and over its hosts the median time in each request type (ms) and outside requests. */
  batches: Array<{ batch: number; wallMs: number; slowestHostMs: number; medianByOp: Record<string, number> }>;
}

/**
 * One resident-agent rolling restart (case c) with --json: where each batch's time goes, from the
 * per-host request timings (service = stop/start, health = the gate after each start, the rest:
 * facts, lock, unlock), and what is outside any request (SSH, the controller, waiting for the batch).
 */
function restartProfile(f: BenchFleet): RestartProfile {
  const argv = [CLI, "-i", f.inventory, "-f", "50", "--agent-persist", "3600", "--json", "run", join(ROOT, "bench", "playbooks", "rolling-restart.yml")];
  const out = execFileSync("node", argv, { encoding: "utf8", maxBuffer: 64 << 20, env: { ...process.env, XDG_STATE_HOME: join(PRIVATE, "state") } });
  type Host = { durationMs: number; timings?: { requests: Array<{ op: string; ms: number }> } };
  const doc = JSON.parse(out) as { plays: Array<{ batches: Array<{ batch: number; durationMs: number; hosts: Host[] }> }> };
  const batches = doc.plays.flatMap((p) => p.batches).map((b) => {
    const perHost = b.hosts.map((h) => {
      const byOp: Record<string, number> = {};
      for (const r of h.timings?.requests ?? []) byOp[r.op] = (byOp[r.op] ?? 0) + r.ms;
      byOp["outside requests"] = h.durationMs - Object.values(byOp).reduce((a, x) => a + x, 0);
      return byOp;
    });
    const ops = [...new Set(perHost.flatMap((x) => Object.keys(x)))];
    return {
      batch: b.batch,
      wallMs: b.durationMs,
      slowestHostMs: Math.max(...b.hosts.map((h) => h.durationMs)),
      medianByOp: Object.fromEntries(ops.map((op) => [op, median(perHost.map((x) => x[op] ?? 0))])),
    };
  });
  return { hosts: f.hosts.length, command: "postfleet --json run rolling-restart.yml (resident agent)", batches };
}

const shq = (x: string) => `'${x.replace(/'/g, `'\\''`)}'`;

/** Case (e): how many runs of a resident series reached a resident agent on every host. */
interface SeriesCheck {
  hosts: number;
  runs: number;
  /** Per run of each timed series: hosts served by a resident agent (timings.resident). */
  residentHosts: number[][];
}
const seriesChecks: SeriesCheck[] = [];

/**
 * Case (e): `count` runs of `postmulti -l` back to back, no pause, as one timed command per tool
 * (scripts and cron jobs run commands so). The resident series starts right after a fresh run
 * (untimed: `agent stop`, then one run that asks for resident agents), the case issue 20 found
 * slower than --agent-persist 0; each of its runs prints --json, to count the hosts served by a
 * resident agent.
 */
function backToBack(f: BenchFleet, count: number): Command[] {
  const dir = join(PRIVATE, "series");
  const state = join(PRIVATE, "state-series");
  const loop = (body: string) => `for i in $(seq ${count}); do ${body}; done`;
  const pf = (persist: string, out: string) =>
    `XDG_STATE_HOME=${shq(state)} node ${shq(CLI)} -i ${shq(f.inventory)} -f 50 --agent-persist ${persist} --json postmulti -l > ${out}`;
  const resident: Command = {
    label: `postfleet postmulti -l ×${count} back to back (resident agent, default)`,
    tool: "postfleet",
    argv: ["sh", "-c", loop(pf("300", `${shq(dir)}/run-$i.json`))],
    prepare: () => {
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      const env = { ...process.env, XDG_STATE_HOME: state };
      execFileSync("node", [CLI, "-i", f.inventory, "-f", "50", "agent", "stop"], { stdio: "ignore", env });
      execFileSync("node", [CLI, "-i", f.inventory, "-f", "50", "--agent-persist", "300", "postmulti", "-l"], { stdio: "ignore", env });
    },
    after: () => {
      const residentHosts = Array.from({ length: count }, (_, i) => {
        try {
          const doc = JSON.parse(readFileSync(join(dir, `run-${i + 1}.json`), "utf8")) as { hosts: Array<{ timings?: { resident?: boolean } }> };
          return doc.hosts.filter((h) => h.timings?.resident === true).length;
        } catch {
          return 0;
        }
      });
      const last = seriesChecks.find((c) => c.hosts === f.hosts.length) ?? seriesChecks[seriesChecks.push({ hosts: f.hosts.length, runs: count, residentHosts: [] }) - 1]!;
      last.residentHosts.push(residentHosts);
    },
  };
  const fresh: Command = {
    label: `postfleet postmulti -l ×${count} back to back (--agent-persist 0)`,
    tool: "postfleet",
    argv: ["sh", "-c", loop(pf("0", "/dev/null"))],
  };
  const ansibleEnv = { ANSIBLE_CONFIG: f.ansibleConfig, ANSIBLE_HOST_KEY_CHECKING: "True" };
  const ansible: Command = {
    label: `ansible -m raw (cold) ×${count} back to back`,
    tool: "ansible",
    argv: ["sh", "-c", loop(`rm -f ${shq(f.controlPath)}/*; ansible all -m raw -a 'postmulti -l' > /dev/null`)],
    env: ansibleEnv,
  };
  const pssh: Command = {
    label: `parallel-ssh -p 50 ×${count} back to back`,
    tool: "parallel-ssh",
    argv: ["sh", "-c", loop(`parallel-ssh -p 50 -t 0 -h ${shq(f.psshHosts)} -x ${shq(f.psshSshArgs.join(" "))} 'postmulti -l' > /dev/null`)],
  };
  return [resident, fresh, ansible, pssh];
}

function machine() {
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? "",
    memoryGB: +(totalmem() / 2 ** 30).toFixed(1),
    kernel: execFileSync("uname", ["-r"], { encoding: "utf8" }).trim(),
    node: process.version,
    ansible: execFileSync("ansible", ["--version"], { encoding: "utf8" }).split("\n")[0],
    otherContainers: () => Number(execFileSync("sh", ["-c", "docker ps -q | wc -l"], { encoding: "utf8" }).trim()),
  };
}

async function main(): Promise<void> {
  if ([...cases].some((c) => c !== "sim")) ensureTools();
  execFileSync("node", [join(ROOT, "scripts", "bundle.mjs")], { stdio: "inherit", cwd: ROOT });
  mkdirSync(PRIVATE, { recursive: true });
  for (const f of ["cli.js", "agent.cjs"]) copyFileSync(join(ROOT, "dist", f), join(PRIVATE, f));
  const runs = Number(opt.runs);
  const n = Number(opt.hosts);
  const started = new Date().toISOString();
  const m = machine();
  const load: Array<{ at: string; loadavg: number[]; containers: number }> = [];
  const noteLoad = (at: string) => load.push({ at, loadavg: loadavg().map((x) => +x.toFixed(2)), containers: m.otherContainers() });
  noteLoad("start");
  const rows: Row[] = [];
  const profiles: HostProfile[] = [];
  let sim: SimResults | undefined;
  const restarts: RestartProfile[] = [];
  const outDir = resolve(ROOT, opt.out!);
  mkdirSync(outDir, { recursive: true });
  const stem = join(outDir, `bench-${started.slice(0, 16).replace(/[:T]/g, "-")}`);
  const { otherContainers: _, ...machineInfo } = m;
  const write = (all: Row[]) => {
    const doc = { date: started, machine: machineInfo, load, options: opt, rows: all, profiles, restarts, series: seriesChecks, ...(sim ? { sim } : {}) };
    writeFileSync(`${stem}.json`, `${JSON.stringify(doc, null, 2)}\n`);
    writeFileSync(`${stem}.md`, markdown(doc));
    return doc;
  };
  onRows = (more) => write([...rows, ...more]);
  const workDir = join(tmpdir(), "postfleet-bench-fleet");

  const withFleet = async (size: number, body: (f: BenchFleet) => Promise<void>) => {
    rmSync(workDir, { recursive: true, force: true });
    rmSync(join(PRIVATE, "state"), { recursive: true, force: true }); // resident agents of an earlier fleet
    const f = await startFleet(size, workDir, log);
    try {
      // Unmeasured warm-up: the agent bundle pushed to every host, Ansible's first contact.
      const t = tools(f);
      await timed(t.postfleet("warm-up", "postmulti", "-l"));
      await timed(t.resident("warm-up", "postmulti", "-l"));
      await timed(t.ansible("warm-up", "raw", "true", false));
      noteLoad(`fleet of ${size} up`);
      await body(f);
    } finally {
      await f.stop();
    }
  };

  const scale = cases.has("d") ? opt.scale!.split(",").map(Number) : [];
  const caseD = async (f: BenchFleet) => {
    const t = tools(f);
    const size = f.hosts.length;
    rows.push(
      ...(await measure("d", size, [
        t.postfleet("postfleet report", "report"),
        t.postfleet("postfleet postmulti -l", "postmulti", "-l"),
        t.resident("postfleet postmulti -l", "postmulti", "-l"),
        t.ansible("ansible -m raw (cold), forks 50", "raw", "postmulti -l", true),
        t.pssh("postmulti -l"),
        t.floor("bare ssh2: postmulti -l", "postmulti -l"),
        t.floor("bare ssh2: node -e 0", "node -e 0"),
      ], Number(opt["scale-runs"]))),
    );
    profiles.push(hostProfile(f));
    onRows([]);
  };
  if (["a", "b", "c", "e", "floors"].some((c) => cases.has(c))) {
    await withFleet(n, async (f) => {
      const t = tools(f);
      if (cases.has("a")) {
        rows.push(
          ...(await measure("a", n, [
            t.postfleet("postfleet postmulti -l", "postmulti", "-l"),
            t.resident("postfleet postmulti -l", "postmulti", "-l"),
            // The OpenSSH transport (the system's ssh, one ControlMaster per host per run), fresh and resident.
            t.postfleet("postfleet --transport openssh postmulti -l", "--transport", "openssh", "postmulti", "-l"),
            t.resident("postfleet --transport openssh postmulti -l", "--transport", "openssh", "postmulti", "-l"),
            t.ansible("ansible -m raw (cold)", "raw", "postmulti -l", true),
            t.ansible("ansible -m raw (warm)", "raw", "postmulti -l", false),
            t.ansible("ansible -m command (warm)", "command", "postmulti -l", false),
            t.pssh("postmulti -l"),
          ], runs)),
        );
      }
      if (cases.has("floors")) {
        rows.push(
          ...(await measure("floors", n, [
            t.floor("bare ssh2: postmulti -l", "postmulti -l"),
            t.floor("bare ssh2: node -e 0", "node -e 0"),
            t.floor("bare ssh2: true", "true"),
          ], runs)),
        );
      }
      if (cases.has("b")) {
        rows.push(
          ...(await measure("b", n, [
            t.postfleet("postfleet run five-steps.yml", "run", join(ROOT, "bench", "playbooks", "five-steps.yml")),
            t.resident("postfleet run five-steps.yml", "run", join(ROOT, "bench", "playbooks", "five-steps.yml")),
            t.playbook("ansible-playbook raw (cold)", "ansible-five-steps-raw.yml", true),
            t.playbook("ansible-playbook raw (warm)", "ansible-five-steps-raw.yml", false),
            t.playbook("ansible-playbook command (warm)", "ansible-five-steps-command.yml", false),
          ], runs)),
        );
      }
      if (cases.has("c")) {
        rows.push(
          ...(await measure("c", n, [
            t.postfleet("postfleet run rolling-restart.yml", "run", join(ROOT, "bench", "playbooks", "rolling-restart.yml")),
            t.resident("postfleet run rolling-restart.yml", "run", join(ROOT, "bench", "playbooks", "rolling-restart.yml")),
            t.playbook("ansible-playbook raw (cold)", "ansible-rolling-restart-raw.yml", true),
            t.playbook("ansible-playbook command (warm)", "ansible-rolling-restart-command.yml", false),
            postfixFloor(f),
          ], runs)),
        );
        restarts.push(restartProfile(f));
        onRows([]);
      }
      if (cases.has("e")) rows.push(...(await measure("e", n, backToBack(f, Number(opt.series)), runs)));
      if (scale.includes(n)) await caseD(f);
    });
  }
  if (cases.has("d")) {
    for (const size of scale.filter((x) => x !== n || !["a", "b", "c", "e", "floors"].some((c) => cases.has(c)))) {
      await withFleet(size, caseD);
    }
  }
  if (cases.has("sim")) {
    sim = await runSimCase({
      sizes: opt["sim-hosts"]!.split(",").map(Number),
      forks: opt["sim-forks"]!.split(",").map(Number),
      commands: opt["sim-commands"]!.split(","),
      workers: Number(opt["sim-workers"]),
      connectTimeoutS: Number(opt["sim-timeout"]),
      profile: opt["sim-profile"] !== "0",
      ...(opt["sim-state"] ? { stateDir: resolve(opt["sim-state"]) } : {}),
      cli: CLI,
      agent: join(PRIVATE, "agent.cjs"),
      workDir: simWorkDir(),
      log,
      onProgress: (r) => ((sim = r), write(rows)),
    });
  }
  noteLoad("end");

  const doc = write(rows);
  process.stdout.write(markdown(doc));
  log(`results: ${stem}.json, ${stem}.md`);
}

/** The table: per case and N, each command's medians and postfleet's ratio to it. */
function markdown(doc: { date: string; machine: Record<string, unknown>; load: unknown[]; rows: Row[]; profiles: HostProfile[]; restarts: RestartProfile[]; series: SeriesCheck[]; sim?: SimResults }): string {
  const lines = [`Date: ${doc.date}; machine: ${JSON.stringify(doc.machine)}`, `Load: ${JSON.stringify(doc.load)}`, ""];
  lines.push("| case | N | command | median wall s | postfleet/this | CPU s | CPU ms/host | max RSS MB | runs (failed) |", "|---|---|---|---|---|---|---|---|---|");
  const groups = new Map<string, Row[]>();
  for (const r of doc.rows) groups.set(`${r.case}/${r.hosts}`, [...(groups.get(`${r.case}/${r.hosts}`) ?? []), r]);
  for (const rs of groups.values()) {
    const pf = rs.find((r) => r.tool === "postfleet" && !/report/.test(r.label)) ?? rs.find((r) => r.tool === "postfleet");
    for (const r of rs) {
      const ratio = pf && r !== pf && r.wallS > 0 ? (pf.wallS / r.wallS).toFixed(2) : "";
      lines.push(
        `| ${r.case} | ${r.hosts} | ${r.label} | ${r.wallS} | ${ratio} | ${r.cpuS || ""} | ${r.cpuS ? Math.round((r.cpuS * 1000) / r.hosts) : ""} | ${r.maxRssMB || ""} | ${r.runs.length} (${r.failedRuns}) |`,
      );
    }
  }
  for (const p of doc.profiles) {
    lines.push("", `Per-host phases, ${p.command}, N=${p.hosts} (median / max ms): ${Object.entries(p.phases).map(([k, v]) => `${k} ${v.median} / ${v.max}`).join(", ")}`);
  }
  for (const p of doc.restarts) {
    lines.push("", `Where a rolling restart's time goes, ${p.command}, N=${p.hosts}: per batch, wall ms; slowest host ms; median per host ms by request type`);
    for (const b of p.batches) lines.push(`- batch ${b.batch}: ${b.wallMs}; ${b.slowestHostMs}; ${Object.entries(b.medianByOp).map(([k, v]) => `${k} ${v}`).join(", ")}`);
  }
  for (const c of doc.series) {
    const all = c.residentHosts.flat();
    lines.push(
      "",
      `Case (e), N=${c.hosts}: hosts served by a resident agent in each run of each resident series (of ${c.hosts}): ${c.residentHosts.map((r) => `[${r.join(", ")}]`).join(" ")}; ` +
        `every run on every host: ${all.length > 0 && all.every((x) => x === c.hosts) ? "yes" : "no"}`,
    );
  }
  if (doc.sim) lines.push(simMarkdown(doc.sim));
  return `${lines.join("\n")}\n`;
}

await main();
