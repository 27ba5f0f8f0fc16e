// `postfleet [options] postmulti ARGS...`: any postmulti(1) command on every
// selected host, through the agent; ARGS reach the agent verbatim (as argv,
// never through a shell).
import type { ArgumentsCamelCase, Argv, CommandModule } from "yargs";
import type { PostmultiResponse } from "../../protocol/index.js";
import { withHostAgent } from "../../orchestrator/host-agent.js";
import type { HostOutcome, ResultRow } from "../../report/document.js";
import { buildCommand } from "../../transport/shell.js";
import { prepareRun, printHumanResults, runAndReport, UsageError, type HostArgs } from "../context.js";
import { HOST_OPTIONS } from "../options.js";

interface PostmultiArgs extends HostArgs {
  check: boolean;
  "--"?: Array<string | number>;
}

export function outcomeFromPostmulti(host: string, r: PostmultiResponse): Omit<HostOutcome, "durationMs"> {
  const results: ResultRow[] = r.results.map((i) => ({
    instance: i.name,
    command: i.command ? buildCommand(i.command) : "",
    exitCode: i.exitCode,
    stdout: i.stdout,
    stderr: i.stderr,
    durationMs: i.durationMs,
    changed: i.changed,
    ...(i.skipped ? { skipped: i.skipped } : {}),
    group: i.group,
    configDirectory: i.configDirectory,
    enabled: i.enabled,
  }));
  const failed = r.exitCode !== 0;
  const warnings = r.warnings.map((w) => `postmulti: warning: ${w}`);
  const error = r.error ? `postmulti: fatal: ${r.error.message}` : failed ? `postmulti exited with status ${r.exitCode}` : undefined;
  return {
    host,
    status: failed ? "failed" : r.changed ? "changed" : "ok",
    ...(error ? { error } : {}),
    ...(warnings.length ? { message: warnings.join("; ") } : {}),
    ...(r.stdout ? { stdout: r.stdout } : {}),
    results,
    data: { exitCode: r.exitCode, dryRun: r.dryRun, ...(r.effects?.length ? { effects: r.effects } : {}) },
  };
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
    const label = `postmulti ${buildCommand(pmArgs)}`;
    const { doc, exitCode } = await runAndReport(ctx, label, (host) =>
      withHostAgent(ctx.targets.get(host)!, ctx, async (client) => {
        const r = await client.request({ op: "postmulti", args: pmArgs, dryRun: argv.check, timeoutMs: ctx.opTimeoutMs });
        if (r.op !== "postmulti") throw new Error(`agent answered ${r.op} to a postmulti request`);
        return outcomeFromPostmulti(host, r);
      }),
    );
    if (!ctx.json) printHumanResults(ctx, doc);
    process.exitCode = exitCode;
  },
};
