// `postfleet bootstrap`: install Node.js (≥ 18, for the agent) with each
// host's own package manager (apt-get, dnf, yum, zypper, apk), over the same
// SSH connection, through sudo when the login user is not root.
import type { Argv, CommandModule } from "yargs";
import { bootstrapOperation } from "../../orchestrator/operations.js";
import { prepareRun } from "../make-run.js";
import { printHumanResults, runAndReport } from "../run-output.js";
import { type HostArgs } from "../host-args.js";
import { HOST_OPTIONS } from "../options.js";

export const bootstrapCommand: CommandModule<object, HostArgs> = {
  command: "bootstrap",
  describe: "Install Node.js on hosts that lack it (for the agent), with the host's package manager",
  builder: (y: Argv) => y.options(HOST_OPTIONS).example("$0 -i inv.yml -l new-mtas bootstrap", "") as unknown as Argv<HostArgs>,
  handler: async (argv) => {
    const ctx = await prepareRun(argv);
    if (!ctx) return;
    const { doc, exitCode } = await runAndReport(ctx, bootstrapOperation());
    if (!ctx.json) printHumanResults(ctx, doc);
    process.exitCode = exitCode;
  },
};
