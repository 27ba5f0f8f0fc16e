import yargs from "yargs";
import { hideBin } from "yargs/helpers";

await yargs(hideBin(process.argv))
  .scriptName("postfleet")
  .strict()
  .demandCommand(1)
  .help()
  .parseAsync();
