// postfleet command line. Each command lives in src/cli/commands/<name>.ts.
import yargs from "yargs";
import { hideBin } from "yargs/helpers";
import { inventoryCommand } from "./commands/inventory.js";

await yargs(hideBin(process.argv))
  .scriptName("postfleet")
  .command(inventoryCommand)
  .strict()
  .demandCommand(1)
  .help()
  .parseAsync();
