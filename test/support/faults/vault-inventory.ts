// An inventory for planted-secret cases: login as `ops` with become, the
// sudo password stored as an Ansible Vault value, the lab's hosts in group
// mta, plus any extra group YAML (e.g. an unreachable host).
import { encryptVault } from "../../../src/inventory/index.js";
import type { Lab } from "../lab.js";

export function vaultedBecomeInventory(lab: Lab, o: { become: string; vaultPassword: string; keyFile?: string; extraGroups?: string[] }): string {
  const vaulted = encryptVault(o.become, o.vaultPassword)
    .split("\n")
    .map((l) => `      ${l}`)
    .join("\n");
  return [
    "all:",
    "  vars:",
    "    ansible_user: ops",
    `    ansible_ssh_private_key_file: ${o.keyFile ?? lab.privateKeyPath}`,
    `    postfleet_known_hosts_file: ${lab.knownHostsPath}`,
    "    ansible_become: true",
    "    ansible_become_password: !vault |",
    vaulted,
    "  children:",
    "    mta:",
    "      hosts:",
    ...lab.hosts.flatMap((h) => [`        ${h.name}:`, `          ansible_host: ${h.address}`, `          ansible_port: ${h.port}`]),
    ...(o.extraGroups ?? []),
    "",
  ].join("\n");
}
