// Options shared by every command that reaches hosts. One table drives both
// yargs and the argv split that hands `postfleet ... postmulti ARGS` their
// ARGS verbatim (postmulti has its own -i, -l, -v...).
import type { Options } from "yargs";

export const HOST_OPTIONS = {
  inventory: {
    alias: "i",
    type: "string",
    array: true,
    describe: "Inventory source: file, directory or script (repeatable); default: ansible.cfg's, else /etc/ansible/hosts",
  },
  limit: { alias: "l", type: "string", describe: "Host pattern the run is limited to (Ansible syntax, e.g. 'mta:!canary'; @file)" },
  forks: { alias: "f", type: "number", describe: "Hosts worked on in parallel (default 50, or ansible.cfg's forks)" },
  json: { type: "boolean", default: false, describe: "Print exactly one JSON document on stdout, nothing else" },
  "list-hosts": { type: "boolean", default: false, describe: "Print the hosts the run would reach, then exit without connecting" },
  user: { alias: "u", type: "string", describe: "Login user where the inventory sets none" },
  "private-key": { type: "string", describe: "Private key file where the inventory sets none" },
  become: { alias: "b", type: "boolean", describe: "Run the agent through sudo (ansible_become)" },
  "become-user": { type: "string", describe: "sudo to this user (default root)" },
  "ask-become-pass": { alias: "K", type: "boolean", default: false, describe: "Prompt for the sudo password" },
  timeout: { alias: "T", type: "number", describe: "SSH connect timeout in seconds (default 10, or ansible.cfg's timeout)" },
  "op-timeout": { type: "number", default: 600, describe: "Timeout of one operation on a host, in seconds" },
  "agent-persist": {
    type: "number",
    describe: "Keep the agent on each host for this many idle seconds and reuse it in the next runs; 0: off (default 300, or $POSTFLEET_AGENT_PERSIST)",
  },
  "host-key-checking": {
    type: "string",
    choices: ["strict", "accept-new", "off"],
    describe: "Host key policy where the inventory sets none (default strict: known_hosts must match)",
  },
  transport: {
    type: "string",
    choices: ["auto", "ssh2", "openssh"],
    describe:
      "How hosts are reached where the inventory sets no postfleet_transport: auto (default: ssh2, built in, unless a host needs the system's ssh: certificates, ssh options, ProxyCommand...), ssh2, or openssh (the system's ssh, ssh_config as is)",
  },
  "vault-password-file": { type: "string", array: true, describe: "File with the vault password (repeatable)" },
  "vault-id": { type: "string", array: true, describe: "Vault id: label@source (repeatable)" },
  "ask-vault-pass": { alias: "J", type: "boolean", default: false, describe: "Prompt for the vault password" },
  verbose: { alias: "v", type: "count", describe: "More detail (repeat for more)" },
} as const satisfies Record<string, Options>;

export type HostOptionName = keyof typeof HOST_OPTIONS;

/** Machine-readable records of a run (run, postmulti; and `runs show` after the fact). */
export const RECORD_OPTIONS = {
  events: { type: "string", describe: "Write the run's events as JSON Lines to FILE while it runs ('-': stdout, human output to stderr); schema: playbooks/events.schema.json" },
  junit: { type: "string", describe: "Write JUnit XML to FILE at the end: a testsuite per play, a testcase per host" },
} as const satisfies Record<string, Options>;

/** Flags (long and short) that take a value, so the argv split can skip it. */
function valueFlags(): Set<string> {
  const flags = new Set<string>();
  for (const [name, spec] of Object.entries({ ...HOST_OPTIONS, ...RECORD_OPTIONS }) as Array<[string, Options]>) {
    if (spec.type === "boolean" || spec.type === "count") continue;
    flags.add(`--${name}`);
    if (typeof spec.alias === "string") flags.add(spec.alias.length === 1 ? `-${spec.alias}` : `--${spec.alias}`);
  }
  return flags;
}

/**
 * Put the command word first, so host options may come before it as Ansible
 * users write them (`postfleet -i inv -l web ping`), and hand everything after
 * a pass-through command (`postmulti`) to it untouched, behind a `--`
 * (postmulti has its own -i, -l, -v...).
 */
export function normalizeArgv(argv: readonly string[], commands: readonly string[], passThrough: readonly string[]): string[] {
  const takesValue = valueFlags();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") return [...argv];
    if (a.startsWith("-")) {
      if (takesValue.has(a)) i++;
      continue;
    }
    if (!commands.includes(a)) return stdinValues(argv);
    const before = stdinValues(argv.slice(0, i));
    const after = argv.slice(i + 1);
    return passThrough.includes(a) ? [a, ...before, "--", ...after] : [a, ...before, ...stdinValues(after)];
  }
  return stdinValues(argv);
}

/** `--events -` as `--events=-`: yargs would take a lone "-" for a positional argument (stdin), not the option's value. */
function stdinValues(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--") return [...out, ...args.slice(i)];
    if (args[i] === "--events" && args[i + 1] === "-") {
      out.push("--events=-");
      i++;
    } else out.push(args[i]!);
  }
  return out;
}
