// `postfleet lab up [N] | down | status`: a local fleet of real MTA hosts in
// containers, to try postfleet before pointing it at production.
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import type { Argv, CommandModule } from "yargs";
import { ensureDockerEngine } from "../../lab/engine.js";
import { listLabContainers, removeLabContainers, startLab } from "../../lab/lab.js";
import { UsageError } from "../host-args.js";

interface LabArgs {
  action: "up" | "down" | "status";
  count?: number;
  dir?: string;
  user?: string;
  systemd: boolean;
  "mail-flow": boolean;
  certificates: boolean;
  json: boolean;
}

/**
 * The lab's inventory through its certificates: only the @cert-authority line to check host keys,
 * strictly, and the openssh transport (ssh2 cannot negotiate certificates). Beside inventory.yml.
 */
function writeCertificateInventory(lab: { dir: string; inventoryPath: string; certificates?: { knownHostsPath: string } }): string {
  const path = join(lab.dir, "inventory-certificates.yml");
  const plain = readFileSync(lab.inventoryPath, "utf8");
  const vars = `    postfleet_transport: openssh\n    postfleet_host_key_checking: strict\n`;
  const text = plain
    .replace(/^(    postfleet_known_hosts_file: ).*$/m, `$1${lab.certificates!.knownHostsPath}`)
    .replace(/^  vars:\n/m, `  vars:\n${vars}`);
  writeFileSync(path, text.replace(/^# .*\n/, "# postfleet lab inventory through SSH certificates (generated)\n"), { mode: 0o600 });
  return path;
}

export function defaultLabDir(): string {
  const state = process.env.XDG_STATE_HOME || join(homedir(), ".local", "state");
  return join(state, "postfleet", "lab");
}

/** Container names are "<prefix>-mta01"...; the prefix is unique per lab directory. */
export function labNamePrefix(dir: string): string {
  return `postfleet-lab-${createHash("sha256").update(resolve(dir)).digest("hex").slice(0, 8)}`;
}

const say = (msg: string) => process.stderr.write(`postfleet lab: ${msg}\n`);

export const labCommand: CommandModule<object, LabArgs> = {
  command: "lab <action> [count]",
  describe: "Local lab fleet of MTA hosts in Docker: up [N] (default 4), down, status",
  builder: (y: Argv) =>
    y
      .positional("action", { choices: ["up", "down", "status"] as const, describe: "What to do" })
      .positional("count", { type: "number", describe: "Number of hosts for 'up' (default 4)" })
      .option("dir", { type: "string", describe: `Lab directory: key, known_hosts, inventory (default ${defaultLabDir()})` })
      .option("user", { type: "string", default: "root", describe: "Login user on the lab hosts (non-root: with sudo)" })
      .option("systemd", { type: "boolean", default: false, describe: "Run systemd in the hosts (postfix@<instance> units)" })
      .option("mail-flow", {
        type: "boolean",
        default: false,
        describe: "Every host carries mail: postfix-in :25 → postfix-filter 127.0.0.1:10025 → postfix-out 127.0.0.1:10026 → smtp-sink 127.0.0.1:2525",
      })
      .option("certificates", {
        type: "boolean",
        default: false,
        describe: "SSH certificates: host keys signed by a lab host CA (known_hosts holds only its @cert-authority line), the login key by a lab user CA that sshd trusts",
      })
      .option("json", { type: "boolean", default: false, describe: "Machine-readable output" })
      .example("$0 lab up 4", "start 4 hosts and print the inventory path")
      .example("$0 lab up 2 --mail-flow", "2 hosts whose instance chain carries mail to a local sink")
      .example("$0 lab up 2 --certificates", "2 hosts reached through SSH certificates (the openssh transport)")
      .example("$0 lab down", "remove this lab's containers, nothing else") as unknown as Argv<LabArgs>,
  handler: async (argv) => {
    const dir = resolve(argv.dir ?? defaultLabDir());
    ensureDockerEngine();
    if (argv.action === "up") {
      const count = argv.count ?? 4;
      if (!Number.isInteger(count) || count < 1 || count > 200) throw new UsageError("lab up: N must be a whole number from 1 to 200");
      if ((await listLabContainers(dir)).length) {
        throw new UsageError(`a lab is already up in ${dir}: 'postfleet lab status' shows it, 'postfleet lab down' removes it`);
      }
      const lab = await startLab(count, {
        dir,
        user: argv.user,
        systemd: argv.systemd,
        mailFlow: argv["mail-flow"],
        certificates: argv.certificates,
        namePrefix: labNamePrefix(dir),
        log: say,
      });
      const certs = lab.certificates;
      const certInventory = certs ? writeCertificateInventory(lab) : undefined;
      if (argv.json) {
        const hosts = lab.hosts.map(({ name, address, port, internalAddress, hostKey, containerId }) => ({
          name, address, port, internalAddress, hostKey, containerId,
        }));
        const certificates = certs && {
          inventory: certInventory,
          knownHosts: certs.knownHostsPath,
          certAuthorityLine: readFileSync(certs.knownHostsPath, "utf8").trim(),
          hostCaPublicKey: certs.hostCaPublicKey,
          userCaPublicKey: certs.userCaPublicKey,
          userCertificate: certs.userCertificatePath,
        };
        process.stdout.write(`${JSON.stringify({ dir, inventory: lab.inventoryPath, knownHosts: lab.knownHostsPath, hosts, ...(certificates ? { certificates } : {}) }, null, 2)}\n`);
        return;
      }
      process.stdout.write(
        `${lab.hosts.map((h) => `${h.name}  ${h.address}:${h.port}`).join("\n")}\n\n` +
          `inventory: ${lab.inventoryPath}\n` +
          `known_hosts (this lab's own): ${lab.knownHostsPath}\n\n` +
          (certs && certInventory
            ? `SSH certificates: each host presents a host certificate from the lab host CA, sshd trusts the lab user CA\n` +
              `  known_hosts with only the CA: ${certs.knownHostsPath}\n` +
              `    ${readFileSync(certs.knownHostsPath, "utf8").trim()}\n` +
              `  user certificate: ${certs.userCertificatePath}\n` +
              `  inventory through the certificates (postfleet_transport: openssh, strict): ${certInventory}\n` +
              `    postfleet -i ${certInventory} ping\n` +
              `    ssh -o UserKnownHostsFile=${certs.knownHostsPath} -i ${lab.privateKeyPath} -p ${lab.hosts[0]!.port} ${lab.user}@${lab.hosts[0]!.address} postmulti -l\n\n`
            : "") +
          (argv["mail-flow"]
            ? `mail chain on every host: postfix-in :25 → postfix-filter 127.0.0.1:10025 → postfix-out 127.0.0.1:10026 → smtp-sink 127.0.0.1:2525 (log: /var/log/postfix.log)\n` +
              `a probe follows a message through it: a 'wait: {probe: true}' step on postfix-in, or 'restart: {gate: {probe: true}}'\n\n`
            : "") +
          `Try:\n` +
          `  postfleet -i ${lab.inventoryPath} ping\n` +
          `  postfleet -i ${lab.inventoryPath} postmulti -l\n` +
          `  postfleet -i ${lab.inventoryPath} report\n` +
          `  postfleet lab down\n`,
      );
      return;
    }
    if (argv.action === "down") {
      const n = await removeLabContainers(dir);
      say(n ? `removed ${n} container(s) of the lab in ${dir}` : `no containers of a lab in ${dir}`);
      return;
    }
    const containers = await listLabContainers(dir);
    const inventory = join(dir, "inventory.yml");
    if (argv.json) {
      process.stdout.write(`${JSON.stringify({ dir, inventory: existsSync(inventory) ? inventory : null, containers }, null, 2)}\n`);
      return;
    }
    if (!containers.length) {
      process.stdout.write(`no lab is up in ${dir} ('postfleet lab up' starts one)\n`);
      return;
    }
    for (const c of containers) process.stdout.write(`${c.host.padEnd(8)} ${c.state.padEnd(8)} ${c.name}  ${c.ports}\n`);
    process.stdout.write(`inventory: ${inventory}\n`);
  },
};
