// Lab hosts for integration tests: N real MTA hosts (sshd + Postfix + Node.js)
// started in parallel with testcontainers, with a key generated now, each
// host's real host key, a known_hosts file and a ready inventory.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GenericContainer, Wait, type StartedTestContainer } from "testcontainers";
import { ensureLabImage } from "../../src/lab/engine.js";
import { renderInventory, renderKnownHosts, type LabHost } from "../../src/lab/inventory.js";
import { generateLoginKey } from "../../src/lab/keys.js";

export interface LabOptions {
  /** Login user; "root" (default) or a non-root user created with sudo rights. */
  user?: string;
  /** With a non-root user: sudo asks this password (else NOPASSWD). */
  sudoPassword?: string;
  /** Inventory group of all hosts (default "mta"). */
  group?: string;
  /** Host name prefix (default "mta"): mta01, mta02, ... */
  prefix?: string;
}

export interface TestLabHost extends LabHost {
  container: StartedTestContainer;
  /** Run a command in the container as root (not over SSH). */
  exec(cmd: string[] | string): Promise<{ exitCode: number; stdout: string; stderr: string }>;
}

export interface Lab {
  hosts: TestLabHost[];
  dir: string;
  user: string;
  privateKeyPath: string;
  publicKey: string;
  knownHostsPath: string;
  inventoryPath: string;
  stop(): Promise<void>;
}

export const LAB_LABEL = "org.postfleet.lab";

/** Start `count` lab hosts in parallel. Call `stop()` afterwards. */
export async function startLab(count: number, o: LabOptions = {}): Promise<Lab> {
  const image = ensureLabImage();
  const dir = mkdtempSync(join(tmpdir(), "postfleet-lab-"));
  const user = o.user ?? "root";
  const key = generateLoginKey(dir);
  const prefix = o.prefix ?? "mta";
  const env: Record<string, string> = { LAB_AUTHORIZED_KEYS: key.publicKey };
  if (user !== "root") env.LAB_USER = user;
  if (o.sudoPassword) env.LAB_SUDO_PASSWORD = o.sudoPassword;

  const started = await Promise.allSettled(
    Array.from({ length: count }, () =>
      new GenericContainer(image)
        .withExposedPorts(22)
        .withEnvironment(env)
        .withLabels({ [LAB_LABEL]: dir })
        .withWaitStrategy(Wait.forLogMessage(/Server listening on/))
        .withStartupTimeout(60_000)
        .start(),
    ),
  );
  const containers = started.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
  const failed = started.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) {
    await Promise.allSettled(containers.map((c) => c.stop({ timeout: 1 })));
    throw failed.reason;
  }

  const hosts = await Promise.all(
    containers.map(async (container, i): Promise<TestLabHost> => {
      const exec = async (cmd: string[] | string) => {
        const r = await container.exec(typeof cmd === "string" ? ["sh", "-c", cmd] : cmd);
        return { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr };
      };
      const hostKey = (await exec(["cat", "/etc/ssh/ssh_host_ed25519_key.pub"])).stdout.trim();
      const network = container.getNetworkNames()[0] ?? "bridge";
      return {
        name: `${prefix}${String(i + 1).padStart(2, "0")}`,
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

  const knownHostsPath = join(dir, "known_hosts");
  writeFileSync(knownHostsPath, renderKnownHosts(hosts), { mode: 0o600 });
  const inventoryPath = join(dir, "inventory.yml");
  writeFileSync(
    inventoryPath,
    renderInventory(hosts, { user, privateKeyPath: key.privateKeyPath, knownHostsPath, group: o.group }),
  );

  return {
    hosts,
    dir,
    user,
    privateKeyPath: key.privateKeyPath,
    publicKey: key.publicKey,
    knownHostsPath,
    inventoryPath,
    async stop() {
      await Promise.allSettled(hosts.map((h) => h.container.stop({ timeout: 1 })));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
