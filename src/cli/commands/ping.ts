// `postfleet ping`: can every host be reached and logged into, and which
// Node.js and Postfix does it run? Uses the same path as every other command
// (connect, push and start the agent), so a green ping means the fleet is ready.
import type { Argv, CommandModule } from "yargs";
import { pingOperation } from "../../orchestrator/operations.js";
import { prepareRun } from "../make-run.js";
import { printHumanResults, runAndReport } from "../run-output.js";
import { type HostArgs } from "../host-args.js";
import { HOST_OPTIONS } from "../options.js";

export const pingCommand: CommandModule<object, HostArgs> = {
  command: "ping",
  describe: "Check reachability, authentication, Node.js and Postfix versions per host",
  builder: (y: Argv) =>
    y.options(HOST_OPTIONS).example("$0 -i inventories/example.yml -l border ping", "") as unknown as Argv<HostArgs>,
  handler: async (argv) => {
    const ctx = await prepareRun(argv);
    if (!ctx) return;
    const { doc, exitCode } = await runAndReport(ctx, pingOperation());
    if (!ctx.json) printHumanResults(ctx, doc);
    process.exitCode = exitCode;
  },
};
