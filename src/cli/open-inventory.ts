// The inventory a run reads: -i, else ansible.cfg's inventory, else
// /etc/ansible/hosts, with ansible.cfg's settings and the vault secrets.
import { loadAnsibleConfig, loadInventory, type AnsibleConfig, type Inventory } from "../inventory/index.js";
import type { HostArgs } from "./host-args.js";

/** The inventory a run reads, with ansible.cfg and the output helpers. */
export interface LoadedInventory {
  inventory: Inventory;
  forksDefault: number | undefined;
  /** ansible.cfg's become_ask_pass (or ANSIBLE_BECOME_ASK_PASS): ask as -K does. */
  becomeAskPass: boolean;
  warn(msg: string): void;
  verbose(level: number, msg: string): void;
}

/**
 * `extraVars`: the run's -e values, which a `constructed` source with
 * `use_extra_vars: true` sees (as Ansible's does).
 */
export async function openInventory(args: HostArgs, extraVars?: Record<string, unknown>): Promise<LoadedInventory> {
  const warn = (msg: string) => process.stderr.write(`[WARNING]: ${msg}\n`);
  const verbose = (level: number, msg: string) => {
    if ((args.verbose ?? 0) >= level) process.stderr.write(`${msg}\n`);
  };
  const cfg = loadAnsibleConfig(process.cwd());
  // -i, else ansible.cfg's inventory, else /etc/ansible/hosts: loadInventory applies the rule.
  const inventory = await loadInventory({
    sources: args.inventory ?? [],
    ...vaultOptions(args, cfg),
    cwd: process.cwd(),
    ansibleConfig: cfg ?? null,
    warn,
    verbose: (msg) => verbose(1, msg),
    ...(extraVars && Object.keys(extraVars).length ? { extraVars } : {}),
  });
  return { inventory, forksDefault: cfg?.forks, becomeAskPass: cfg?.becomeAskPass === true, warn, verbose };
}

/**
 * Vault secrets as Ansible gathers them: the command line's password files and
 * vault ids, then ansible.cfg's (or ANSIBLE_VAULT_PASSWORD_FILE /
 * ANSIBLE_VAULT_IDENTITY_LIST); --ask-vault-pass or ask_vault_pass.
 */
export function vaultOptions(
  args: { "vault-password-file"?: string[]; "vault-id"?: string[]; "ask-vault-pass"?: boolean },
  cfg: AnsibleConfig | undefined,
): { vaultPasswordFiles: string[]; vaultIds: string[]; askVaultPass: boolean } {
  return {
    vaultPasswordFiles: [...(args["vault-password-file"] ?? []), ...(cfg?.vaultPasswordFiles ?? [])],
    vaultIds: [...(args["vault-id"] ?? []), ...(cfg?.vaultIdentityList ?? [])],
    askVaultPass: !!args["ask-vault-pass"] || cfg?.askVaultPass === true,
  };
}
