// `postfleet agent stop`: end the resident agents (`--agent-persist`) this
// controller left on the selected hosts, before their idle time runs out
// (e.g. before a maintenance window, or after rotating a become password).
import type { Argv, CommandModule } from "yargs";
import { stopResidentOperation } from "../../orchestrator/operations.js";
import { prepareRun } from "../make-run.js";
import { printHumanResults, runAndReport } from "../run-output.js";
import { type HostArgs } from "../host-args.js";
import { HOST_OPTIONS } from "../options.js";

export const agentCommand: CommandModule<object, HostArgs & { action: string }> = {
  command: "agent <action>",
  describe: "Manage the resident agents left by --agent-persist (action: stop)",
  builder: (y: Argv) =>
    y
      .positional("action", { choices: ["stop"] as const, describe: "stop: make them exit now" })
      .options(HOST_OPTIONS)
      .example("$0 -i inventories/example.yml agent stop", "") as unknown as Argv<HostArgs & { action: string }>,
  handler: async (argv) => {
    const ctx = await prepareRun(argv);
    if (!ctx) return;
    const { doc, exitCode } = await runAndReport(ctx, stopResidentOperation());
    if (!ctx.json) printHumanResults(ctx, doc);
    process.exitCode = exitCode;
  },
};
