// `postfleet report`: every instance of every selected host, with its state,
// directories, Postfix version and queue sizes.
import { writeFileSync } from "node:fs";
import type { Argv, CommandModule } from "yargs";
import { factsOperation } from "../../orchestrator/operations.js";
import { instanceRows, renderCsv, renderHtml, renderTable } from "../../report/instance-table.js";
import { prepareRun, runAndReport, type HostArgs } from "../context.js";
import { HOST_OPTIONS } from "../options.js";

interface ReportArgs extends HostArgs {
  format: "table" | "json" | "csv" | "html";
  output?: string;
}

export const reportCommand: CommandModule<object, ReportArgs> = {
  command: "report",
  describe: "Inventory of the fleet's Postfix instances: state, directories, version, queue sizes",
  builder: (y: Argv) =>
    y
      .options(HOST_OPTIONS)
      .option("format", { type: "string", choices: ["table", "json", "csv", "html"], default: "table", describe: "Output format" })
      .option("output", { alias: "o", type: "string", describe: "Write the report to this file instead of stdout" })
      .example("$0 -i inv.yml report --format html -o fleet.html", "one self-contained page to sort and filter") as unknown as Argv<ReportArgs>,
  handler: async (argv) => {
    const format = argv.json ? "json" : argv.format;
    const ctx = await prepareRun({ ...argv, json: format === "json" && !argv.output });
    if (!ctx) return;
    const { doc, exitCode } = await runAndReport(ctx, factsOperation({ queues: true }), (d) => ({ instances: d.hosts.flatMap(instanceRows) }));
    const all = doc.hosts.flatMap(instanceRows);
    const hostsWithFacts = doc.hosts.filter((h) => h.data?.kind === "facts").length;
    const problems = doc.hosts.filter((h) => h.status === "failed" || h.status === "unreachable" || h.status === "skipped");
    let text: string | undefined;
    if (format === "table") text = renderTable(all, problems);
    else if (format === "csv") text = renderCsv(all);
    else if (format === "html") text = renderHtml(all, problems, new Date());
    else if (argv.output) text = `${JSON.stringify({ ...doc, instances: all }, null, 2)}\n`;
    if (text !== undefined) {
      if (argv.output) {
        writeFileSync(argv.output, text);
        process.stderr.write(`postfleet: wrote ${all.length} instances of ${hostsWithFacts} hosts to ${argv.output}\n`);
      } else process.stdout.write(text);
    }
    if (format !== "json" && format !== "table") {
      for (const p of problems) process.stderr.write(`postfleet: ${p.host}: ${p.status}: ${p.error ?? ""}\n`);
    }
    process.exitCode = exitCode;
  },
};
