// postfleet command line. Each command lives in src/cli/commands/<name>.ts.
// Exit codes: 0 all ok; 1 usage or input error; 2 some host failed;
// 3 some host unreachable and none failed; 4 run aborted.
import yargs, { type CommandModule } from "yargs";
import { hideBin } from "yargs/helpers";
import { EXIT } from "../orchestrator/run-document.js";
import { COMMANDS } from "./command-list.js";
import { normalizeArgv } from "./options.js";
import { postfleetVersion } from "./recording.js";

const commands = COMMANDS;
const words = commands.map((c) => String(c.command).split(" ")[0]!);
const argv = normalizeArgv(hideBin(process.argv), words, ["postmulti"]);

try {
  await yargs(argv)
    .scriptName("postfleet")
    // `-i a.yml -i b.yml` as Ansible takes it; a greedy array would swallow `run`'s playbook argument.
    .parserConfiguration({ "greedy-arrays": false })
    .usage("$0 [options] <command>\n\nFleet orchestrator for Postfix multi-instance mail servers.")
    .command(commands as CommandModule[])
    .completion("completion", "Print a bash/zsh completion script (e.g. postfleet completion >> ~/.bashrc)")
    .strictCommands()
    .strictOptions()
    .demandCommand(1, "give a command (see --help)")
    .recommendCommands()
    .fail((msg, err) => {
      throw err ?? new Error(msg);
    })
    .help()
    .alias("h", "help")
    // Ours, not a guess: yargs looks for package.json from its own files, which are inside our bundle.
    .version(postfleetVersion())
    .wrap(Math.min(110, process.stdout.columns ?? 100))
    .parseAsync();
} catch (err) {
  // Input errors (bad options, inventory file:line, unresolvable variables)
  // end the run before any host is touched.
  const msg = err instanceof Error ? err.message : String(err);
  process.stderr.write(`postfleet: error: ${msg}\n`);
  process.exitCode = EXIT.usage;
}

// The command is over and its results are printed: exit now. A connection to
// a host that stopped answering (paused, cut off the network) can otherwise
// hold the event loop open long after the run ended, with nothing left to do.
await Promise.all([process.stdout, process.stderr].map((s) => new Promise<void>((r) => s.write("", () => r()))));
process.exit(process.exitCode ?? 0);
