// `postfleet inventory`: the inventory as Ansible sees it, modelled on
// ansible-inventory (--list, --host, --graph) plus --list-hosts PATTERN.
import type { Argv, CommandModule } from "yargs";
import { InventoryError, loadAnsibleConfig, loadInventory, pythonJson } from "../../inventory/index.js";
import { vaultOptions } from "../context.js";

interface InventoryArgs {
  inventory?: string[];
  list?: boolean;
  host?: string;
  graph?: string;
  "list-hosts"?: string;
  limit?: string;
  "vault-password-file"?: string[];
  "ask-vault-pass"?: boolean;
  "vault-id"?: string[];
  "playbook-dir"?: string;
  verbose?: number;
}

export const inventoryCommand: CommandModule<object, InventoryArgs> = {
  command: "inventory",
  describe: "Show the inventory as Ansible sees it (like ansible-inventory)",
  builder: (y: Argv<object>) =>
    y
      .option("inventory", { alias: "i", type: "array", string: true, describe: "Inventory file, directory, script or host list (repeatable)" })
      .option("list", { type: "boolean", describe: "All groups and hosts with their variables, as JSON" })
      .option("host", { type: "string", describe: "One host's variables, as JSON" })
      .option("graph", { type: "string", describe: "The group tree (of GROUP, default all)" })
      .option("list-hosts", { type: "string", describe: "The hosts a PATTERN selects, one per line, in run order" })
      .option("limit", { alias: "l", type: "string", describe: "Further limit --list-hosts to a pattern (or @file)" })
      .option("vault-password-file", { type: "array", string: true, describe: "Vault password file (repeatable)" })
      .option("ask-vault-pass", { type: "boolean", describe: "Ask for the vault password on the terminal" })
      .option("vault-id", { type: "array", string: true, describe: "Vault id: [label@]file or [label@]prompt (repeatable)" })
      .option("playbook-dir", { type: "string", describe: "Also read group_vars/ and host_vars/ next to this directory" })
      .option("verbose", { alias: "v", type: "count", describe: "Say which sources and ansible.cfg are read" }) as unknown as Argv<InventoryArgs>,
  handler: async (argv) => {
    const out = (s: string): void => {
      process.stdout.write(s.endsWith("\n") ? s : `${s}\n`);
    };
    try {
      const modes = [argv.list, argv.host !== undefined, argv.graph !== undefined, argv["list-hosts"] !== undefined].filter(Boolean).length;
      if (modes !== 1) throw new InventoryError("give exactly one of --list, --host NAME, --graph [GROUP], --list-hosts PATTERN");
      // -i, else ansible.cfg's inventory, else /etc/ansible/hosts: loadInventory applies the rule.
      const cfg = loadAnsibleConfig(process.cwd());
      const inv = await loadInventory({
        sources: (argv.inventory ?? []).map(String),
        ansibleConfig: cfg ?? null,
        ...vaultOptions(argv, cfg),
        ...(argv["playbook-dir"] ? { playbookDir: argv["playbook-dir"] } : {}),
        ...(argv.verbose ? { verbose: (m: string) => process.stderr.write(`postfleet: ${m}\n`) } : {}),
      });
      if (argv.list) out(pythonJson(inv.list()));
      else if (argv.host !== undefined) {
        const hosts = inv.selectHosts(argv.host);
        if (hosts.length !== 1) throw new InventoryError(`--host needs exactly one host; '${argv.host}' matches ${hosts.length}`);
        out(pythonJson(inv.rawHostVars(hosts[0]!)));
      } else if (argv.graph !== undefined) out(inv.graph(argv.graph || "all"));
      else {
        const hosts = inv.selectHosts(argv["list-hosts"]!, argv.limit);
        if (hosts.length) out(hosts.join("\n"));
      }
    } catch (e) {
      if (!(e instanceof InventoryError)) throw e;
      process.stderr.write(`postfleet: inventory: ${e.message}\n`);
      process.exitCode = 1;
    }
  },
};
