// The lab: N real MTA hosts (Debian 12, sshd, Postfix, Node.js) in containers
// reachable on loopback ports. One implementation for the test suite
// (test/support/lab.ts) and for `postfleet lab up|down|status`.
// Containers carry the label org.postfleet.lab=<lab directory>, so `down`
// removes exactly this lab's containers and nothing else.
import { execFile } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { ensureLabImage } from "./engine.js";
import { renderInventory, renderKnownHosts, type LabHost } from "./lab-inventory.js";
import { generateLoginKey } from "./keys.js";
import { setUpLabCertificates, type LabCertificates } from "./certificates.js";

const run = promisify(execFile);

export const LAB_LABEL = "org.postfleet.lab";
export const LAB_HOST_LABEL = "org.postfleet.lab.host";

export interface LabOptions {
  /** Directory for the key, known_hosts and inventory (created; must be this lab's own). */
  dir: string;
  /** Login user: "root" (default) or a non-root user created with sudo rights. */
  user?: string;
  /** With a non-root user: sudo asks this password (else NOPASSWD). */
  sudoPassword?: string;
  /** Inventory group of all hosts (default "mta"). */
  group?: string;
  /** Host name prefix (default "mta"): mta01, mta02, ... */
  prefix?: string;
  /** Give containers fixed names "<namePrefix>-<host>" (the CLI lab does; tests don't). */
  namePrefix?: string;
  /** Run systemd as PID 1 (Debian's postfix@<instance> units), not sshd alone. */
  systemd?: boolean;
  /**
   * The mail chain on every host (docker/mail-flow.sh): postfix-in on :25 →
   * content filter postfix-filter on 127.0.0.1:10025 → postfix-out on
   * 127.0.0.1:10026 → smtp-sink on 127.0.0.1:2525; ready when startLab returns.
   */
  mailFlow?: boolean;
  /**
   * SSH certificates (src/lab/certificates.ts): a lab host CA signs each host's ed25519 key
   * (principals: inventory name and address), sshd presents it and trusts a lab user CA, which
   * certifies the login key (KEY-cert.pub). The known_hosts file and inventory stay as without.
   */
  certificates?: boolean;
  /** Progress messages. */
  log?: (msg: string) => void;
}

export interface RunningLabHost extends LabHost {
  /** Run a command in the container as root (docker exec, not SSH). */
  exec(cmd: string[] | string): Promise<{ exitCode: number; stdout: string; stderr: string }>;
  /** The testcontainers handle (copyContentToContainer, stop, ...). */
  container: import("testcontainers").StartedTestContainer;
}

export interface Lab {
  hosts: RunningLabHost[];
  dir: string;
  user: string;
  privateKeyPath: string;
  publicKey: string;
  knownHostsPath: string;
  inventoryPath: string;
  /** With the `certificates` option: the CAs, the @cert-authority known_hosts file, the user certificate. */
  certificates?: LabCertificates;
  /** Stop and remove this lab's containers (and the directory when `removeDir`). */
  stop(o?: { removeDir?: boolean }): Promise<void>;
}

/** Start `count` lab hosts in parallel, ready for SSH with strict host-key checking. */
export async function startLab(count: number, o: LabOptions): Promise<Lab> {
  process.env.TESTCONTAINERS_RYUK_DISABLED ??= "true"; // Ryuk's image cannot be pulled offline
  const { GenericContainer, Wait } = await import("testcontainers");
  const image = ensureLabImage();
  const dir = resolve(o.dir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const user = o.user ?? "root";
  const key = generateLoginKey(dir);
  const prefix = o.prefix ?? "mta";
  const names = Array.from({ length: count }, (_, i) => `${prefix}${String(i + 1).padStart(2, "0")}`);
  const env: Record<string, string> = { LAB_AUTHORIZED_KEYS: key.publicKey };
  if (user !== "root") env.LAB_USER = user;
  if (o.sudoPassword) env.LAB_SUDO_PASSWORD = o.sudoPassword;
  if (o.mailFlow) env.LAB_MAIL_FLOW = "1";
  o.log?.(`starting ${count} lab host(s) from ${image}`);

  const started = await Promise.allSettled(
    names.map((name) => {
      let c = new GenericContainer(image)
        .withExposedPorts(22)
        .withEnvironment(env)
        .withLabels({ [LAB_LABEL]: dir, [LAB_HOST_LABEL]: name })
        .withStartupTimeout(90_000);
      if (o.namePrefix) c = c.withName(`${o.namePrefix}-${name}`);
      if (o.systemd) {
        c = c
          .withCommand(["/sbin/init"])
          .withAddedCapabilities("SYS_ADMIN")
          .withTmpFs({ "/run": "rw", "/run/lock": "rw" })
          .withBindMounts([{ source: "/sys/fs/cgroup", target: "/sys/fs/cgroup", mode: "rw" }])
          .withWaitStrategy(Wait.forListeningPorts());
        // seccomp=unconfined: systemd needs syscalls Docker's default profile blocks.
        (c as unknown as { hostConfig: { SecurityOpt?: string[] } }).hostConfig.SecurityOpt = ["seccomp=unconfined"];
      } else {
        c = c.withWaitStrategy(Wait.forLogMessage(/Server listening on/));
      }
      return c.start();
    }),
  );
  const containers = started.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
  const failed = started.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) {
    await Promise.allSettled(containers.map((c) => c.stop({ timeout: 1 })));
    throw failed.reason;
  }

  const hosts = await Promise.all(
    containers.map(async (container, i): Promise<RunningLabHost> => {
      const exec = async (cmd: string[] | string) => {
        const r = await container.exec(typeof cmd === "string" ? ["sh", "-c", cmd] : cmd);
        return { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr };
      };
      // With systemd, the first-boot unit may still be writing the host keys.
      let hostKey = "";
      for (let tries = 0; tries < 50 && !hostKey.startsWith("ssh-"); tries++) {
        if (tries) await new Promise((r) => setTimeout(r, 200));
        hostKey = (await exec(["cat", "/etc/ssh/ssh_host_ed25519_key.pub"])).stdout.trim();
      }
      if (o.mailFlow) {
        const r = await exec(["/usr/local/sbin/postfleet-lab-mail-flow", "wait"]);
        if (r.exitCode !== 0) throw new Error(`${names[i]}: the lab's mail chain is not up: ${r.stderr.trim()}`);
      }
      const network = container.getNetworkNames()[0] ?? "bridge";
      return {
        name: names[i]!,
        address: "127.0.0.1",
        port: container.getMappedPort(22),
        internalAddress: container.getIpAddress(network),
        hostKey,
        containerId: container.getId(),
        container,
        exec,
      };
    }),
  );

  let certificates: LabCertificates | undefined;
  if (o.certificates) {
    try {
      certificates = await setUpLabCertificates(dir, hosts, { privateKeyPath: key.privateKeyPath, user });
    } catch (e) {
      await Promise.allSettled(containers.map((c) => c.stop({ timeout: 1 })));
      throw e;
    }
  }

  const knownHostsPath = join(dir, "known_hosts");
  writeFileSync(knownHostsPath, renderKnownHosts(hosts), { mode: 0o600 });
  const inventoryPath = join(dir, "inventory.yml");
  writeFileSync(
    inventoryPath,
    renderInventory(hosts, { user, privateKeyPath: key.privateKeyPath, knownHostsPath, group: o.group }),
  );
  o.log?.(`lab ready: ${hosts.length} host(s); inventory ${inventoryPath}`);

  return {
    hosts,
    dir,
    user,
    privateKeyPath: key.privateKeyPath,
    publicKey: key.publicKey,
    knownHostsPath,
    inventoryPath,
    ...(certificates ? { certificates } : {}),
    async stop(so = {}) {
      await removeLabContainers(dir);
      if (so.removeDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface LabContainer {
  id: string;
  name: string;
  host: string;
  state: string;
  ports: string;
}

/** This lab's containers (by label), running or not. */
export async function listLabContainers(dir: string): Promise<LabContainer[]> {
  const { stdout } = await run("docker", [
    "ps",
    "-a",
    "--filter",
    `label=${LAB_LABEL}=${resolve(dir)}`,
    "--format",
    `{{.ID}}\t{{.Names}}\t{{.Label "${LAB_HOST_LABEL}"}}\t{{.State}}\t{{.Ports}}`,
  ]);
  return stdout
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      const [id = "", name = "", host = "", state = "", ports = ""] = line.split("\t");
      return { id, name, host, state, ports };
    })
    .sort((a, b) => a.host.localeCompare(b.host));
}

/** Remove exactly this lab's containers; returns how many. */
export async function removeLabContainers(dir: string): Promise<number> {
  const mine = await listLabContainers(dir);
  if (mine.length) await run("docker", ["rm", "-f", "-v", ...mine.map((c) => c.id)]);
  return mine.length;
}
