// `postfleet [options] postmulti ARGS...`: any postmulti(1) command on every
// selected host, through the agent; ARGS reach the agent verbatim (as argv,
// never through a shell). Commands that can change something are journaled
// (README "Runs: journal, history and event streams"); -l, -p status and
// --check are read-only and are not.
import type { ArgumentsCamelCase, Argv, CommandModule } from "yargs";
import { postmultiOperation } from "../../orchestrator/operations.js";
import { renderHosts, renderRecap } from "../../report/human.js";
import { prepareRun } from "../make-run.js";
import { runAndReport } from "../run-output.js";
import { UsageError, type HostArgs } from "../host-args.js";
import { HOST_OPTIONS, RECORD_OPTIONS } from "../options.js";
import { checkOutputArgs, humanStream, startRecording, type OutputArgs } from "../recording.js";

interface PostmultiArgs extends HostArgs, OutputArgs {
  check: boolean;
  "--"?: Array<string | number>;
}

/** postmulti -l (list mode, alone or in a cluster of short options) and -p status change nothing. */
export function postmultiReadOnly(args: readonly string[]): boolean {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (/^-[A-Za-z]*x$/.test(a)) return false; // the rest is the command -x runs
    if (/^-[A-Za-z]*l[A-Za-z]*$/.test(a) && !a.startsWith("--")) return true;
    if (a === "-p" && args[i + 1] === "status") return true;
  }
  return false;
}

export const postmultiCommand: CommandModule<object, PostmultiArgs> = {
  command: "postmulti [args..]",
  describe: "Run a postmulti(1) command on every selected host (arguments after 'postmulti' go to postmulti verbatim)",
  builder: (y: Argv) =>
    y
      .options(HOST_OPTIONS)
      .options(RECORD_OPTIONS)
      .option("check", { alias: "C", type: "boolean", default: false, describe: "Dry run: report what would change, change nothing" })
      .parserConfiguration({ "populate--": true })
      .example("$0 -i inv.yml -l 'mta:!canary' postmulti -g mta -p reload", "reload every instance of group mta, canaries excepted")
      .example("$0 -i inv.yml postmulti -l", "list the instances of every host") as unknown as Argv<PostmultiArgs>,
  handler: async (argv: ArgumentsCamelCase<PostmultiArgs>) => {
    const pmArgs = (argv["--"] ?? []).map(String);
    if (pmArgs.length === 0) throw new UsageError("postmulti: give postmulti's arguments, e.g. 'postfleet -i inv.yml postmulti -l'");
    checkOutputArgs(argv);
    const ctx = await prepareRun(argv);
    if (!ctx) return;
    const op = postmultiOperation(pmArgs, { dryRun: argv.check });
    const recording = startRecording(ctx, { kind: "operation", command: op.label, journal: !argv.check && !postmultiReadOnly(pmArgs), args: argv, check: argv.check });
    const { doc, exitCode } = await runAndReport(ctx, op);
    recording.finish(doc);
    if (!ctx.json) {
      const out = humanStream(argv);
      const o = { color: ctx.color && !!out.isTTY, verbose: (argv.verbose ?? 0) > 0 };
      out.write(renderHosts(doc.hosts, o));
      out.write(renderRecap(doc, o));
    }
    process.exitCode = exitCode;
  },
};
