// `postfleet runs`: the runs this controller keeps (newest first), and
// `postfleet runs show ID`: one run's document rebuilt from its journal (the
// same as its --json output for a run that ended), its --events and --junit
// after the fact.
import { writeFileSync } from "node:fs";
import type { Argv, CommandModule } from "yargs";
import { loadRun, type StoredRun } from "../../orchestrator/journal/rebuild.js";
import { listRunIds, runsDir } from "../../orchestrator/journal/store.js";
import type { RunDocument } from "../../orchestrator/run-document.js";
import type { PlaybookDocument } from "../../orchestrator/steps/step-results.js";
import { renderEventsJsonl } from "../../report/events-jsonl.js";
import { renderHosts, renderRecap } from "../../report/human.js";
import { renderJunit } from "../../report/junit.js";
import { renderPlayHosts, renderPlaybookRecap } from "../../report/playbook-human.js";
import { UsageError } from "../host-args.js";
import { RECORD_OPTIONS } from "../options.js";
import { checkOutputArgs, humanStream, type OutputArgs } from "../recording.js";

interface RunsArgs extends OutputArgs {
  json: boolean;
  id?: string;
  limit?: number;
}

function listRuns(dir: string): StoredRun[] {
  const out: StoredRun[] = [];
  for (const id of listRunIds(dir)) {
    try {
      out.push(loadRun(dir, id).run);
    } catch {
      // a journal without a start record: not a run (yet)
    }
  }
  return out;
}

const hostsText = (r: StoredRun) =>
  (Object.entries(r.hosts)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${s}=${n}`)
    .join(" ") || "-") + (r.inFlight.length ? ` (${r.inFlight.length} in flight)` : "");

function renderList(runs: readonly StoredRun[]): string {
  if (!runs.length) return `no runs recorded in ${runsDir()}\n`;
  const rows = runs.map((r) => [r.id, r.status, r.started, r.finished ?? "-", hostsText(r), r.command]);
  const head = ["ID", "STATUS", "STARTED", "FINISHED", "HOSTS", "COMMAND"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join("  ");
  return [line(head), ...rows.map(line)].join("\n") + "\n";
}

function renderShow(run: StoredRun, doc: RunDocument): string {
  const o = { color: false, verbose: false };
  const head = `run ${run.id}: ${run.status}, started ${run.started}${run.finished ? `, finished ${run.finished}` : ""}\n` +
    (run.inFlight.length ? `in flight when the journal stopped: ${run.inFlight.map((f) => `${f.host}${f.step ? ` at ${f.step}` : ""}`).join(", ")}\n` : "") +
    `journal: ${run.journal}\n\n`;
  if ("plays" in doc) {
    const pb = doc as PlaybookDocument;
    const po = { ...o, diff: false, check: pb.check };
    const plays = pb.plays.map((p) => `PLAY [${p.name}]\n` + p.batches.map((b) => renderPlayHosts(b.hosts, po)).join(""));
    return head + plays.join("\n") + renderPlaybookRecap(pb, po);
  }
  return head + renderHosts(doc.hosts, o) + renderRecap(doc, o);
}

const showCommand: CommandModule<RunsArgs, RunsArgs> = {
  command: "show <id>",
  describe: "Print a run's document rebuilt from its journal (a run still going or interrupted: as far as it got)",
  builder: (y: Argv<RunsArgs>) =>
    y
      .positional("id", { type: "string", describe: "The run's id (as `postfleet runs` lists it), or `last`" })
      .options(RECORD_OPTIONS) as unknown as Argv<RunsArgs>,
  handler: (argv) => {
    checkOutputArgs(argv);
    const dir = runsDir();
    const ids = listRunIds(dir);
    const id = argv.id === "last" ? ids[0] : argv.id;
    if (!id || !ids.includes(id)) throw new UsageError(`no run '${argv.id}' in ${dir} (see postfleet runs)`);
    const { run, records, document } = loadRun(dir, id);
    if (argv.events === "-") process.stdout.write(renderEventsJsonl(records));
    else if (argv.events) writeFileSync(argv.events, renderEventsJsonl(records), { mode: 0o600 });
    if (argv.junit) writeFileSync(argv.junit, renderJunit(document));
    if (argv.json) process.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
    else humanStream(argv).write(renderShow(run, document));
  },
};

export const runsCommand: CommandModule<object, RunsArgs> = {
  command: "runs",
  describe: "List recent runs (newest first) from the journals in $XDG_STATE_HOME/postfleet/runs; `runs show ID` prints one",
  builder: (y: Argv) =>
    y
      .option("json", { type: "boolean", default: false, describe: 'Print {"runs": [...]} on stdout' })
      .option("limit", { type: "number", describe: "Show at most this many runs" })
      .command(showCommand as unknown as CommandModule)
      .example("$0 runs", "recent runs and their status")
      .example("$0 runs show 20261206T120102345Z-1a2b3c --json", "a run's document, as it printed it with --json") as unknown as Argv<RunsArgs>,
  handler: (argv) => {
    const runs = listRuns(runsDir()).slice(0, argv.limit ?? Infinity);
    if (argv.json) process.stdout.write(`${JSON.stringify({ runs }, null, 2)}\n`);
    else process.stdout.write(renderList(runs));
  },
};
