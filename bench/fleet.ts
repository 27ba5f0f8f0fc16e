// The bench fleet: N containers of the bench image (the lab image plus
// python3-minimal for Ansible's modules, and Postfix's primary and two
// instances in group `mta`, created and enabled), each with its instances running; and matching inventories
// for postfleet (YAML), Ansible (INI + ansible.cfg) and parallel-ssh.
import { execFile, execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import pLimit from "p-limit";
import { ensureLabImage, packageRoot } from "../src/lab/engine.js";
import { renderInventory, renderKnownHosts, type LabHost } from "../src/lab/lab-inventory.js";
import { generateLoginKey } from "../src/lab/keys.js";

const run = promisify(execFile);
export const BENCH_LABEL = "org.postfleet.bench";

/** Build (once per lab image) the bench image: bench/image/Dockerfile on top of the lab image. */
export function ensureBenchImage(): string {
  const lab = ensureLabImage();
  const dockerfile = readFileSync(join(packageRoot(), "bench", "image", "Dockerfile"));
  const tag = `postfleet-bench:${createHash("sha256").update(lab).update(dockerfile).digest("hex").slice(0, 16)}`;
  try {
    execFileSync("docker", ["image", "inspect", tag], { stdio: "ignore" });
  } catch {
    process.stderr.write(`bench: building ${tag} (lab image + python3-minimal, libpython3-stdlib)\n`);
    execFileSync("docker", ["build", "-q", "-t", tag, "--build-arg", `LAB_IMAGE=${lab}`, join(packageRoot(), "bench", "image")], { stdio: ["ignore", "ignore", "inherit"] });
  }
  return tag;
}

export interface BenchFleet {
  dir: string;
  hosts: LabHost[];
  /** postfleet (and Ansible YAML) inventory. */
  inventory: string;
  /** Ansible INI inventory and the ansible.cfg next to it (ANSIBLE_CONFIG). */
  ansibleInventory: string;
  ansibleConfig: string;
  /** Where Ansible's ControlPersist sockets live (removed for cold runs). */
  controlPath: string;
  /** parallel-ssh hosts file and its ssh options. */
  psshHosts: string;
  psshSshArgs: string[];
  /** JSON list for the ssh2 floor: [{host, port, user, key}]. */
  floorHosts: string;
  privateKeyPath: string;
  knownHostsPath: string;
  stop(): Promise<void>;
}

/** Start the instances every bench host has (created and enabled in the image: primary plus postfix-a and postfix-b in group mta). */
const SETUP = `set -e
postmulti -p start 2>/dev/null
postmulti -l | wc -l`;

function usableKey(path: string): boolean {
  try {
    execFileSync("ssh-keygen", ["-y", "-f", path], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

export async function startFleet(n: number, dir: string, log: (m: string) => void): Promise<BenchFleet> {
  const image = ensureBenchImage();
  dir = resolve(dir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // A key ssh2 or OpenSSH cannot load was seen once here: check it, make another if so.
  let key = generateLoginKey(dir);
  for (let i = 0; i < 5 && !usableKey(key.privateKeyPath); i++) key = generateLoginKey(dir);
  const names = Array.from({ length: n }, (_, i) => `mta${String(i + 1).padStart(n >= 100 ? 3 : 2, "0")}`);
  const limit = pLimit(8);
  log(`starting ${n} bench hosts from ${image}`);
  const t0 = performance.now();
  const ids = await Promise.all(
    names.map((name) =>
      limit(async () => {
        const r = await run("docker", ["run", "-d", "--label", `${BENCH_LABEL}=${dir}`, "--hostname", name, "-e", `LAB_AUTHORIZED_KEYS=${key.publicKey}`, "-p", "127.0.0.1::22", image]);
        return r.stdout.trim();
      }),
    ),
  );
  const stop = async () => {
    const chunks = [];
    for (let i = 0; i < ids.length; i += 50) chunks.push(ids.slice(i, i + 50));
    for (const c of chunks) await run("docker", ["rm", "-f", ...c]).catch(() => undefined);
  };
  try {
    const hosts = await Promise.all(
      ids.map((id, i) =>
        limit(async (): Promise<LabHost> => {
          let hostKey = "";
          // 50 containers starting at once on a loaded 2-core machine can take minutes.
          for (const deadline = Date.now() + 600_000; Date.now() < deadline; ) {
            const logs = await run("docker", ["logs", id]).catch(() => ({ stdout: "", stderr: "" }));
            if (/Server listening/.test(logs.stdout + logs.stderr)) {
              hostKey = (await run("docker", ["exec", id, "cat", "/etc/ssh/ssh_host_ed25519_key.pub"])).stdout.trim();
              break;
            }
            await new Promise((r) => setTimeout(r, 200));
          }
          if (!hostKey) throw new Error(`bench host ${names[i]} did not start sshd`);
          const port = Number((await run("docker", ["port", id, "22/tcp"])).stdout.trim().split("\n")[0]!.split(":").pop());
          const setup = await run("docker", ["exec", id, "sh", "-c", SETUP]);
          if (setup.stdout.trim().split("\n").pop() !== "3") throw new Error(`bench host ${names[i]}: instance setup failed: ${setup.stdout}`);
          return { name: names[i]!, address: "127.0.0.1", port, internalAddress: "", hostKey, containerId: id };
        }),
      ),
    );
    log(`${n} hosts up with 3 running instances each in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    const knownHostsPath = join(dir, "known_hosts");
    writeFileSync(knownHostsPath, renderKnownHosts(hosts), { mode: 0o600 });
    const inventory = join(dir, "inventory.yml");
    writeFileSync(inventory, renderInventory(hosts, { user: "root", privateKeyPath: key.privateKeyPath, knownHostsPath }));

    const controlPath = join(dir, "cp");
    mkdirSync(controlPath, { recursive: true });
    const ansibleInventory = join(dir, "hosts.ini");
    writeFileSync(
      ansibleInventory,
      `[mta]\n${hosts.map((h) => `${h.name} ansible_host=${h.address} ansible_port=${h.port}`).join("\n")}\n\n` +
        `[all:vars]\nansible_user=root\nansible_ssh_private_key_file=${key.privateKeyPath}\nansible_python_interpreter=/usr/bin/python3\n`,
    );
    const ansibleConfig = join(dir, "ansible.cfg");
    writeFileSync(
      ansibleConfig,
      `[defaults]\ninventory = ${ansibleInventory}\nforks = 50\nhost_key_checking = True\ngathering = explicit\n` +
        `interpreter_python = /usr/bin/python3\nretry_files_enabled = False\n\n` +
        `[ssh_connection]\npipelining = True\n` +
        `ssh_args = -o ControlMaster=auto -o ControlPersist=60s -o UserKnownHostsFile=${knownHostsPath} -o StrictHostKeyChecking=yes\n` +
        `control_path_dir = ${controlPath}\n`,
    );
    const psshHosts = join(dir, "pssh-hosts");
    writeFileSync(psshHosts, hosts.map((h) => `root@${h.address}:${h.port}\n`).join(""));
    const psshSshArgs = ["-i", key.privateKeyPath, "-o", `UserKnownHostsFile=${knownHostsPath}`, "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes"];
    const floorHosts = join(dir, "floor-hosts.json");
    writeFileSync(floorHosts, JSON.stringify(hosts.map((h) => ({ host: h.address, port: h.port, user: "root", key: key.privateKeyPath }))));
    return {
      dir,
      hosts,
      inventory,
      ansibleInventory,
      ansibleConfig,
      controlPath,
      psshHosts,
      psshSshArgs,
      floorHosts,
      privateKeyPath: key.privateKeyPath,
      knownHostsPath,
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
