// Placeholder until `postfleet inventory` lands (inventory issue).
import type { CommandModule } from "yargs";

export const inventoryCommand: CommandModule = {
  command: "inventory",
  describe: "Show the inventory as Ansible would (not built yet)",
  handler: () => {
    process.stderr.write("postfleet: inventory: not built yet\n");
    process.exitCode = 1;
  },
};
