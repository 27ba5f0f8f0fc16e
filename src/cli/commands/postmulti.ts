// `postfleet [options] postmulti ARGS...`: any postmulti(1) command on every
// selected host, through the agent; ARGS reach the agent verbatim (as argv,
// never through a shell).
import type { ArgumentsCamelCase, Argv, CommandModule } from "yargs";
import { postmultiOperation } from "../../orchestrator/operations.js";
import { prepareRun, printHumanResults, runAndReport, UsageError, type HostArgs } from "../context.js";
import { HOST_OPTIONS } from "../options.js";

interface PostmultiArgs extends HostArgs {
  check: boolean;
  "--"?: Array<string | number>;
}

export const postmultiCommand: CommandModule<object, PostmultiArgs> = {
  command: "postmulti [args..]",
  describe: "Run a postmulti(1) command on every selected host (arguments after 'postmulti' go to postmulti verbatim)",
  builder: (y: Argv) =>
    y
      .options(HOST_OPTIONS)
      .option("check", { alias: "C", type: "boolean", default: false, describe: "Dry run: report what would change, change nothing" })
      .parserConfiguration({ "populate--": true })
      .example("$0 -i inv.yml -l 'mta:!canary' postmulti -g mta -p reload", "reload every instance of group mta, canaries excepted")
      .example("$0 -i inv.yml postmulti -l", "list the instances of every host") as unknown as Argv<PostmultiArgs>,
  handler: async (argv: ArgumentsCamelCase<PostmultiArgs>) => {
    const pmArgs = (argv["--"] ?? []).map(String);
    if (pmArgs.length === 0) throw new UsageError("postmulti: give postmulti's arguments, e.g. 'postfleet -i inv.yml postmulti -l'");
    const ctx = await prepareRun(argv);
    if (!ctx) return;
    const { doc, exitCode } = await runAndReport(ctx, postmultiOperation(pmArgs, { dryRun: argv.check }));
    if (!ctx.json) printHumanResults(ctx, doc);
    process.exitCode = exitCode;
  },
};
