// What a started lab hands to its users: a known_hosts file with each host's
// real host key (so strict checking works) and an Ansible-compatible inventory.
import { stringify } from "yaml";
import { knownHostsName } from "../transport/index.js";

export interface LabHost {
  /** Inventory name, e.g. "mta01". */
  name: string;
  /** Address the controller reaches (loopback). */
  address: string;
  /** Host port mapped to the container's sshd. */
  port: number;
  /** Address on the lab's Docker network (for jump-host set-ups). */
  internalAddress: string;
  /** The host's ed25519 public key line: "ssh-ed25519 AAAA...". */
  hostKey: string;
  /** Docker container id. */
  containerId: string;
}

// OpenSSH writes non-default ports as "[host]:port": one rule, the transport's.
export { knownHostsName };

export function renderKnownHosts(hosts: readonly LabHost[]): string {
  return hosts.map((h) => `${knownHostsName(h.address, h.port)} ${hostKeyTypeAndBlob(h.hostKey)}\n`).join("");
}

/** "type base64" without the trailing comment. */
export function hostKeyTypeAndBlob(line: string): string {
  const [type, blob] = line.trim().split(/\s+/);
  if (!type || !blob) throw new Error(`not an OpenSSH public key line: ${JSON.stringify(line)}`);
  return `${type} ${blob}`;
}

export interface LabInventoryOptions {
  user: string;
  privateKeyPath: string;
  knownHostsPath: string;
  group?: string;
}

/** YAML inventory: every host in group `mta` (by default) with its connection variables. */
export function renderInventory(hosts: readonly LabHost[], o: LabInventoryOptions): string {
  const group = o.group ?? "mta";
  const entries = Object.fromEntries(
    hosts.map((h) => [h.name, { ansible_host: h.address, ansible_port: h.port }]),
  );
  const doc = {
    all: {
      vars: {
        ansible_user: o.user,
        ansible_ssh_private_key_file: o.privateKeyPath,
        postfleet_known_hosts_file: o.knownHostsPath,
      },
      children: { [group]: { hosts: entries } },
    },
  };
  return `# postfleet lab inventory (generated)\n${stringify(doc)}`;
}
