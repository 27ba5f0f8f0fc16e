// How one inventory host is reached: the boundary between src/inventory (which
// resolves it from Ansible's connection variables and the command line) and
// src/transport (which connects). It lives here so that neither of the two
// imports the other. Secrets (becomePassword) must never be logged.

export type HostKeyChecking = "strict" | "accept-new" | "off";

export const HOST_KEY_CHECKING_MODES: readonly HostKeyChecking[] = ["strict", "accept-new", "off"];

/** How a host is reached: ssh2 (the library in this process, the default) or the system's OpenSSH `ssh`. */
export type TransportKind = "ssh2" | "openssh";

export const TRANSPORT_KINDS: readonly TransportKind[] = ["ssh2", "openssh"];

export interface ConnectionTarget {
  /** inventory_hostname. */
  name: string;
  /** Address or DNS name to connect to (ansible_host, else name; ~/.ssh/config HostName may apply). */
  address: string;
  /** ansible_port; undefined: ~/.ssh/config Port, else 22. */
  port?: number;
  /** ansible_user, else -u, else ansible.cfg remote_user; undefined: ~/.ssh/config User, else the local user name. */
  user?: string;
  /** ansible_ssh_private_key_file (may be several), else --private-key, else ansible.cfg private_key_file; undefined: ~/.ssh/config IdentityFile, ssh-agent, default keys. */
  privateKeyFiles?: string[];
  /** postfleet_known_hosts_file; default ~/.ssh/known_hosts. */
  knownHostsFile?: string;
  /** postfleet_host_key_checking, else --host-key-checking; default "strict". */
  hostKeyChecking?: HostKeyChecking;
  /** Jump host(s) in `ssh -J` syntax: [user@]host[:port][,...] (postfleet_proxy_jump, or ProxyJump in ansible_ssh_common_args). */
  proxyJump?: string;
  /** --become, else ansible_become: run the agent through sudo. */
  become?: boolean;
  /** --become-user, else ansible_become_user (default root). */
  becomeUser?: string;
  /** The -K answer, else ansible_become_password / ansible_become_pass. Secret. */
  becomePassword?: string;
  /** postfleet_node: path of Node.js on the host (default: `node` from PATH, then /usr/bin/nodejs). */
  nodePath?: string;
  /** ansible_timeout, else -T/--timeout, else ansible.cfg timeout, in ms. */
  connectTimeoutMs?: number;
  /** postfleet_transport, else --transport; undefined (auto): chosen per host when connecting (transport-choice.ts). */
  transport?: TransportKind;
  /** ansible_ssh_common_args then ansible_ssh_extra_args, split into argv words (used by the openssh transport only). */
  sshArgs?: string[];
}
