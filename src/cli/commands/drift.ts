// `postfleet drift`: which instances are configured differently from their
// peers (or from a snapshot, or from a playbook), and how. Read only.
import { readFileSync, writeFileSync } from "node:fs";
import type { Argv, CommandModule } from "yargs";
import { driftOperation } from "../../orchestrator/drift-operation.js";
import { EXIT, type RunDocument } from "../../orchestrator/run-document.js";
import { loadPlaybook, type Playbook } from "../../playbook/index.js";
import { compareFleet, makeSnapshot, parseSnapshot, type DriftInput, type DriftReport } from "../../drift/compare.js";
import { declaredState } from "../../drift/declared.js";
import { renderDriftHtml } from "../../report/drift-html.js";
import { renderDriftText } from "../../report/drift-text.js";
import { prepareRun } from "../make-run.js";
import { runAndReport } from "../run-output.js";
import { UsageError, type HostArgs } from "../host-args.js";
import { HOST_OPTIONS } from "../options.js";

/** `--exit-code` and drift found (and no host failed, unreachable or aborted: those keep 2, 3, 4). */
export const EXIT_DRIFT = 5;

interface DriftArgs extends HostArgs {
  format: "table" | "json" | "html";
  output?: string;
  ignore?: string[];
  save?: string;
  against?: string;
  "exit-code": boolean;
}

const isPlaybookFile = (f: string) => /\.ya?ml$/i.test(f);

export const driftCommand: CommandModule<object, DriftArgs> = {
  command: "drift",
  describe: "Which instances are configured differently from their peers (or a snapshot, or a playbook), and how",
  builder: (y: Argv) =>
    y
      .options(HOST_OPTIONS)
      .option("format", { type: "string", choices: ["table", "json", "html"], default: "table", describe: "Output format" })
      .option("output", { alias: "o", type: "string", describe: "Write the report to this file instead of stdout" })
      .option("ignore", { type: "string", array: true, describe: "Do not compare these parameters (repeatable; globs: 'smtpd_tls_*')" })
      .option("save", { type: "string", describe: "Also write the fleet's configuration to this JSON snapshot" })
      .option("against", { type: "string", describe: "Compare with a snapshot (--save) or with what a playbook (.yml) declares, not the majority" })
      .option("exit-code", { type: "boolean", default: false, describe: `Exit ${EXIT_DRIFT} when drift is found (2, 3, 4 keep their meaning)` })
      .example("$0 -i inv.yml drift", "per instance name: the hosts that differ from the majority, and how")
      .example("$0 -i inv.yml drift --save baseline.json", "then later: drift --against baseline.json --exit-code") as unknown as Argv<DriftArgs>,
  handler: async (argv) => {
    const format = argv.json ? "json" : argv.format;
    const ignore = argv.ignore ?? [];
    const ctx = await prepareRun({ ...argv, json: format === "json" && !argv.output });
    if (!ctx) return;

    // Read the baseline before connecting: a bad file is an input error (exit 1), no host touched.
    let against: DriftInput["against"];
    if (argv.against && isPlaybookFile(argv.against)) {
      const playbook: Playbook = await loadPlaybook(argv.against, { inventory: ctx.inventory, limit: argv.limit, interactive: false });
      against = { kind: "playbook", file: argv.against, declared: (h) => declaredState(playbook, h) };
    } else if (argv.against) {
      let text: string;
      try {
        text = readFileSync(argv.against, "utf8");
      } catch (e) {
        throw new UsageError(`cannot read ${argv.against}: ${(e as Error).message}`);
      }
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch (e) {
        throw new UsageError(`${argv.against}: not JSON: ${(e as Error).message}`);
      }
      try {
        against = { kind: "snapshot", file: argv.against, snapshot: parseSnapshot(json, argv.against) };
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
    }

    let report: DriftReport | undefined;
    const compare = (doc: RunDocument) => (report ??= compareFleet({ outcomes: doc.hosts, ignore, ...(against ? { against } : {}) }).report);
    const op = driftOperation({ ansibleHost: (h) => ctx.targets.get(h)?.address });
    const { doc, exitCode } = await runAndReport(ctx, op, (d) => ({ drift: compare(d) }));
    const r = compare(doc);

    if (argv.save) {
      const majority = compareFleet({ outcomes: doc.hosts, ignore });
      writeFileSync(argv.save, `${JSON.stringify(makeSnapshot(majority.hosts, majority.reference, ignore, new Date()), null, 2)}\n`);
      process.stderr.write(`postfleet: saved the configuration of ${majority.hosts.length} host(s) to ${argv.save}\n`);
    }

    let text: string | undefined;
    if (format === "table") text = renderDriftText(r);
    else if (format === "html") text = renderDriftHtml(r, new Date());
    else if (argv.output) text = `${JSON.stringify({ ...doc, drift: r }, null, 2)}\n`;
    if (text !== undefined) {
      if (argv.output) {
        writeFileSync(argv.output, text);
        process.stderr.write(`postfleet: wrote the drift report of ${r.hosts.length} host(s) to ${argv.output}${r.drift ? " (drift found)" : ""}\n`);
      } else process.stdout.write(text);
    }
    process.exitCode = exitCode === EXIT.ok && argv["exit-code"] && r.drift ? EXIT_DRIFT : exitCode;
  },
};
