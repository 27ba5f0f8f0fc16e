// `postfleet run PLAYBOOK.yml`: plays of steps over hosts in rolling batches,
// health-gated, with one failure budget per play. The whole file is checked
// (structure, patterns, variables per host) before anything connects.
import { createInterface } from "node:readline";
import type { Argv, CommandModule } from "yargs";
import { planPlaybook } from "../../orchestrator/playbook-plan.js";
import { playbookLabel, runPlaybook } from "../../orchestrator/playbook-run.js";
import { exitCodeOf } from "../../orchestrator/run-document.js";
import { loadPlaybook, parseExtraVars, renderListHosts } from "../../playbook/index.js";
import { resolvePlaybookArg, shippedPlaybookNames } from "../shipped-playbooks.js";
import { attachPlaybookOutput, renderPlaybookRecap } from "../../report/playbook-human.js";
import { attachProgress } from "../../report/progress.js";
import { makeRun } from "../make-run.js";
import { openInventory } from "../open-inventory.js";
import { UsageError, type HostArgs } from "../host-args.js";
import { HOST_OPTIONS, RECORD_OPTIONS } from "../options.js";
import { checkOutputArgs, humanStream, startRecording, type OutputArgs } from "../recording.js";
import { retryFileOf, updateRetryFile } from "../retry-file.js";

interface RunArgs extends HostArgs, OutputArgs {
  playbook: string;
  "extra-vars"?: string[];
  check: boolean;
  diff: boolean;
  "retry-file"?: string;
  retry: boolean;
}

/** Ask on the terminal and wait for Enter (pause steps with a prompt). */
export function terminalPrompt(text: string): Promise<void> {
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
    rl.question(`${text} [press Enter to go on] `, () => {
      rl.close();
      resolve();
    });
  });
}

/** Ask on the terminal whether to promote a canary stage (asked again until answered): "continue" (or c, y, yes) goes on, "abort" (or n/no) stops the play. */
export function terminalPromote(text: string): Promise<boolean> {
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
    const ask = () =>
      rl.question(`${text} [continue/abort] `, (answer) => {
        const a = answer.trim().toLowerCase();
        if (a === "continue" || a === "c" || a === "y" || a === "yes") return rl.close(), resolve(true);
        if (a === "abort" || a === "a" || a === "n" || a === "no") return rl.close(), resolve(false);
        ask();
      });
    ask();
  });
}

export const runCommand: CommandModule<object, RunArgs> = {
  command: "run <playbook>",
  describe: "Run a playbook: steps on each host's instances, in rolling batches, health-gated, with a failure budget",
  builder: (y: Argv) =>
    y
      .options(HOST_OPTIONS)
      .options(RECORD_OPTIONS)
      .positional("playbook", { type: "string", describe: `The playbook file (YAML), or the name of one shipped with postfleet: ${shippedPlaybookNames().join(", ")}` })
      .option("extra-vars", { alias: "e", type: "string", array: true, describe: "Variables KEY=VALUE, @FILE (YAML/JSON) or a JSON object; highest precedence" })
      .option("check", { alias: "C", type: "boolean", default: false, describe: "Change nothing: print the batch plan and what each step would change" })
      .option("diff", { alias: "D", type: "boolean", default: false, describe: "Print each main.cf/master.cf change, per instance, before and after" })
      .option("retry-file", { type: "string", describe: "Write the hosts that failed, were unreachable or never attempted to FILE (for -l @FILE)" })
      .option("retry", { type: "boolean", default: false, describe: "Same, to PLAYBOOK.retry beside the playbook" })
      .example("$0 -i inv.yml run playbooks/rolling-restart.yml -l mta", "restart every enabled instance, in batches")
      .example("$0 -i inv.yml run playbooks/create-instances.yml --check --diff", "what would change, nothing changed") as unknown as Argv<RunArgs>,
  handler: async (argv) => {
    checkOutputArgs(argv);
    argv.playbook = resolvePlaybookArg(argv.playbook);
    const extraVars = parseExtraVars(argv["extra-vars"] ?? []);
    const loaded = await openInventory(argv, extraVars);
    const interactive = !!process.stdin.isTTY && !!process.stderr.isTTY;
    // A bad --limit (even an empty one) is the command line's error, not the playbook's.
    if (argv.limit !== undefined) loaded.inventory.selectHosts("all", argv.limit);
    // Every problem of the file, at FILE:LINE:COLUMN, before any host is touched.
    const playbook = await loadPlaybook(argv.playbook, {
      inventory: loaded.inventory,
      ...(argv.limit !== undefined ? { limit: argv.limit } : {}),
      extraVars,
      interactive,
    });
    for (const w of playbook.warnings) loaded.warn(w);
    if (argv["list-hosts"]) {
      process.stdout.write(renderListHosts(playbook));
      return;
    }
    const hosts = [...new Set(playbook.plays.flatMap((p) => p.batches.flat()))];
    if (hosts.length === 0) throw new UsageError(`no hosts matched any play${argv.limit ? ` within the limit '${argv.limit}'` : ""}`);
    const ctx = await makeRun(argv, loaded, hosts);
    const out = humanStream(argv);
    const human = { color: ctx.color && !!out.isTTY, diff: argv.diff, check: argv.check, verbose: (argv.verbose ?? 0) > 0 };
    // The journal (and --events) before any host is touched: a run that cannot keep one does not start.
    const recording = startRecording(ctx, { kind: "playbook", command: playbookLabel(argv.playbook, argv.check), journal: true, args: argv, playbook: argv.playbook, check: argv.check, extraVars, plays: playbook.plays });
    if (!ctx.json && argv.check) out.write(`${renderListHosts(playbook)}\n`);
    const detachProgress = attachProgress(ctx.run.events, hosts.length, !ctx.json && !!process.stderr.isTTY);
    const detachOutput = ctx.json ? () => undefined : attachPlaybookOutput(ctx.run.events, human, (s) => out.write(s));
    let doc;
    try {
      doc = await runPlaybook(ctx.run, planPlaybook(playbook), { check: argv.check, prompt: terminalPrompt, promote: terminalPromote });
    } finally {
      detachOutput();
      detachProgress();
    }
    recording.finish(doc);
    if (ctx.json) process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
    else out.write(renderPlaybookRecap(doc, human));

    const retryFile = retryFileOf(argv.playbook, { file: argv["retry-file"], retry: argv.retry });
    if (retryFile) updateRetryFile(retryFile, doc.retryHosts);
    process.exitCode = exitCodeOf(doc);
  },
};
