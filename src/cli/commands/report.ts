// `postfleet report`: every instance of every selected host, with its state,
// directories, Postfix version and queue sizes; a summary and the rows with a
// problem first; metrics for Prometheus, a Nagios line.
import { renameSync, unlinkSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import type { Argv, CommandModule } from "yargs";
import { factsOperation } from "../../orchestrator/operations.js";
import { EXIT, type RunDocument } from "../../orchestrator/run-document.js";
import { assessFleet, DEFAULT_THRESHOLDS, formatAge, parseAge, parseCount, reportJson, type FleetReport, type QueueThresholds } from "../../report/fleet-health.js";
import { renderNagios, renderPrometheus } from "../../report/fleet-metrics.js";
import { renderCsv, renderHtml, renderTable } from "../../report/instance-table.js";
import { prepareRun } from "../make-run.js";
import { runAndReport } from "../run-output.js";
import { UsageError, type HostArgs } from "../host-args.js";
import { HOST_OPTIONS } from "../options.js";

/** `--exit-code` and a problem found (and no host failed, unreachable or aborted: those keep 2, 3, 4; drift's is 5). */
export const EXIT_PROBLEMS = 6;

type Format = "table" | "json" | "csv" | "html" | "prometheus" | "nagios";

interface ReportArgs extends HostArgs {
  format: Format;
  output?: string;
  "max-deferred": string;
  "max-active": string;
  "max-oldest-deferred": string;
  "exit-code": boolean;
}

function thresholds(argv: ReportArgs): QueueThresholds {
  const count = (name: "max-deferred" | "max-active") => {
    const v = parseCount(String(argv[name]));
    if (v === undefined) throw new UsageError(`--${name}: '${argv[name]}' is neither a whole number nor 'off'`);
    return v;
  };
  const age = parseAge(String(argv["max-oldest-deferred"]));
  if (age === undefined) throw new UsageError(`--max-oldest-deferred: '${argv["max-oldest-deferred"]}' is no age (seconds, '2d', '6h', '90m') nor 'off'`);
  return { maxDeferred: count("max-deferred"), maxActive: count("max-active"), maxOldestDeferredS: age };
}

/** Write next to the target, then rename over it: a reader (node_exporter's textfile collector) never sees half a file. */
function writeAtomically(file: string, text: string): void {
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, file);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      // not written
    }
    throw e;
  }
}

export const reportCommand: CommandModule<object, ReportArgs> = {
  command: "report",
  describe: "The fleet's Postfix instances (state, directories, version, queues), problems first; metrics for Prometheus",
  builder: (y: Argv) =>
    y
      .options(HOST_OPTIONS)
      .option("format", {
        type: "string",
        choices: ["table", "json", "csv", "html", "prometheus", "nagios"],
        default: "table",
        describe: "Output format (prometheus: text exposition format; nagios: one plugin line with perfdata, Nagios exit codes)",
      })
      .option("output", { alias: "o", type: "string", describe: "Write the report to this file instead of stdout (atomically: temporary file, then rename)" })
      .option("max-deferred", { type: "string", default: String(DEFAULT_THRESHOLDS.maxDeferred), describe: "An instance with more deferred messages is a problem ('off': no limit)" })
      .option("max-active", { type: "string", default: String(DEFAULT_THRESHOLDS.maxActive), describe: "An instance with more messages in its active queue is a problem ('off': no limit)" })
      .option("max-oldest-deferred", {
        type: "string",
        default: formatAge(DEFAULT_THRESHOLDS.maxOldestDeferredS!),
        describe: "An instance whose oldest deferred message is older is a problem (seconds, '6h', '2d'; 'off': no limit)",
      })
      .option("exit-code", { type: "boolean", default: false, describe: `Exit ${EXIT_PROBLEMS} when a problem is found (2, 3, 4 keep their meaning)` })
      .example("$0 -i inv.yml report --format html -o fleet.html", "one self-contained page: summary, problems first, sortable, filterable")
      .example("$0 -i inv.yml report --format prometheus -o /var/lib/node_exporter/textfile/postfleet.prom", "metrics for node_exporter's textfile collector")
      .example("$0 -i inv.yml report --exit-code --max-deferred 200", `cron or monitoring: exit ${EXIT_PROBLEMS} when something is wrong`) as unknown as Argv<ReportArgs>,
  handler: async (argv) => {
    const format = argv.json ? "json" : argv.format;
    const limits = thresholds(argv); // before connecting: a bad value is a usage error, no host touched
    const ctx = await prepareRun({ ...argv, json: format === "json" && !argv.output });
    if (!ctx) return;
    const groupsOf = (h: string) => ctx.inventory.groupNames(h);
    let report: FleetReport | undefined;
    const assess = (d: RunDocument) => (report ??= assessFleet(d.hosts, { thresholds: limits, groupsOf }));
    const op = factsOperation({ queues: true, oldestDeferred: limits.maxOldestDeferredS !== null || format === "prometheus" });
    const { doc, exitCode } = await runAndReport(ctx, op, (d) => reportJson(assess(d)));
    const r = assess(doc);
    const generatedAt = new Date();
    let text: string | undefined;
    let code = exitCode === EXIT.ok && argv["exit-code"] && r.summary.problems > 0 ? EXIT_PROBLEMS : exitCode;
    if (format === "table") text = renderTable(r.rows, r.summary);
    else if (format === "csv") text = renderCsv(r.rows);
    else if (format === "html") text = renderHtml(r.rows, r.summary, generatedAt);
    else if (format === "prometheus") text = renderPrometheus(r, generatedAt);
    else if (format === "nagios") {
      const n = renderNagios(r, doc.aborted);
      text = n.line;
      code = n.exitCode;
    } else if (argv.output) text = `${JSON.stringify({ ...doc, ...reportJson(r) }, null, 2)}\n`;
    if (text !== undefined) {
      if (argv.output) {
        writeAtomically(argv.output, text);
        const instances = r.rows.filter((x) => x.kind === "instance").length;
        process.stderr.write(`postfleet: wrote ${instances} instances of ${r.summary.hostsReporting} hosts to ${argv.output}${r.summary.problems ? ` (${r.summary.problems} problems)` : ""}\n`);
      } else process.stdout.write(text);
    }
    if (format !== "json" && format !== "table" && format !== "nagios") {
      for (const p of doc.hosts.filter((h) => h.data?.kind !== "facts")) process.stderr.write(`postfleet: ${p.host}: ${p.status}: ${p.error ?? ""}\n`);
    }
    for (const h of doc.hosts) {
      const errs = h.data?.kind === "facts" ? h.data.queueErrors : undefined;
      for (const [i, e] of Object.entries(errs ?? {})) process.stderr.write(`postfleet: ${h.host}: ${i}: cannot read the queue: ${e}\n`);
    }
    process.exitCode = code;
  },
};
