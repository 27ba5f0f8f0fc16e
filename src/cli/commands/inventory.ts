// `postfleet inventory`: the inventory as Ansible sees it, modelled on
// ansible-inventory (--list, --host, --graph; --yaml, --toml, --export,
// --vars, --output) plus --list-hosts PATTERN.
import { writeFileSync } from "node:fs";
import type { Argv, CommandModule } from "yargs";
import { InventoryError, loadAnsibleConfig, loadInventory, renderInventory } from "../../inventory/index.js";
import { vaultOptions } from "../open-inventory.js";

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
  yaml?: boolean;
  toml?: boolean;
  export?: boolean;
  vars?: boolean;
  output?: string;
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
      .option("yaml", { alias: "y", type: "boolean", describe: "--list and --host as YAML (as ansible-inventory --yaml)" })
      .option("toml", { type: "boolean", describe: "--list and --host as TOML (as ansible-inventory --toml)" })
      .option("export", { type: "boolean", describe: "--list: group variables on their groups, hosts with their own variables only" })
      .option("vars", { type: "boolean", describe: "--graph: also each host's and group's variables" })
      .option("output", { type: "string", describe: "Write the output to FILE instead of stdout" })
      .option("playbook-dir", { type: "string", describe: "Also read group_vars/ and host_vars/ next to this directory" })
      .option("verbose", { alias: "v", type: "count", describe: "Say which sources and ansible.cfg are read" }) as unknown as Argv<InventoryArgs>,
  handler: async (argv) => {
    // As ansible-inventory: --output gets the text as it is, stdout a final newline; nothing to print is exit status 1.
    const out = (s: string): void => {
      if (!s) process.exitCode = 1;
      else if (argv.output !== undefined) {
        try {
          writeFileSync(argv.output, s);
        } catch (e) {
          throw new InventoryError(`cannot write ${argv.output}: ${(e as Error).message}`);
        }
      } else process.stdout.write(s.endsWith("\n") ? s : `${s}\n`);
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
      const opts = { yaml: !!argv.yaml, toml: !!argv.toml, export: !!argv.export, vars: !!argv.vars };
      if (argv.list) out(renderInventory(inv, { list: true }, opts));
      else if (argv.host !== undefined) out(renderInventory(inv, { host: argv.host }, opts));
      else if (argv.graph !== undefined) out(renderInventory(inv, { graph: argv.graph }, opts));
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
