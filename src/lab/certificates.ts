// Lab option `certificates`: a host CA and a user CA made with ssh-keygen in the
// lab directory; each host's ed25519 host key signed by the host CA (principals:
// its inventory name and the address the controller reaches) and presented by
// sshd (HostCertificate), sshd trusting the user CA (TrustedUserCAKeys), and the
// lab login key certified by the user CA beside it (KEY-cert.pub). Configured at
// start through docker exec: the image stays as it is.
import { execFile } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import type { StartedTestContainer } from "testcontainers";

const run = promisify(execFile);

/** What this module needs of a started lab host (lab.ts's RunningLabHost). */
export interface CertifiableHost {
  name: string;
  address: string;
  port: number;
  /** "ssh-ed25519 AAAA..." */
  hostKey: string;
  exec(cmd: string[] | string): Promise<{ exitCode: number; stdout: string; stderr: string }>;
  container: Pick<StartedTestContainer, "copyContentToContainer">;
}

export interface LabCertificates {
  /** Host CA private key (ssh-keygen -s), public key at .pub. */
  hostCaPath: string;
  /** "ssh-ed25519 AAAA..." of the host CA. */
  hostCaPublicKey: string;
  /** A known_hosts file holding only `@cert-authority * <host CA>`: strict checking through certificates alone. */
  knownHostsPath: string;
  userCaPath: string;
  userCaPublicKey: string;
  /** The login key's user certificate (principal: the login user), beside the key as KEY-cert.pub. */
  userCertificatePath: string;
}

export interface HostCertificateOptions {
  /** Default: the host's inventory name and address. */
  principals?: string[];
  /** ssh-keygen -V; default "always:forever". */
  validity?: string;
  /** Key id; default the host's name. */
  id?: string;
}

const HOST_CERT = "/etc/ssh/ssh_host_ed25519_key-cert.pub";
const USER_CA = "/etc/ssh/postfleet_lab_user_ca.pub";
const DROP_IN = "/etc/ssh/sshd_config.d/postfleet-lab-certificates.conf";

async function keygen(dir: string, args: string[]): Promise<void> {
  await run("ssh-keygen", args, { cwd: dir });
}

async function newCa(dir: string, name: string): Promise<{ path: string; publicKey: string }> {
  const path = join(dir, name);
  await keygen(dir, ["-q", "-t", "ed25519", "-N", "", "-C", `postfleet-lab ${name}`, "-f", path]);
  return { path, publicKey: readFileSync(`${path}.pub`, "utf8").trim() };
}

async function writeInto(host: CertifiableHost, path: string, content: string): Promise<void> {
  await host.container.copyContentToContainer([{ content, target: path, mode: 0o644 }]);
}

/** Sign `host`'s ed25519 host key with the lab's host CA and have its sshd present the certificate (reloaded). */
export async function installHostCertificate(
  dir: string,
  certs: Pick<LabCertificates, "hostCaPath">,
  host: CertifiableHost,
  o: HostCertificateOptions = {},
): Promise<string> {
  const pub = join(dir, `${host.name}_host_ed25519_key.pub`);
  writeFileSync(pub, `${host.hostKey}\n`);
  const principals = o.principals ?? [host.name, host.address];
  await keygen(dir, ["-q", "-s", certs.hostCaPath, "-I", o.id ?? host.name, "-h", "-n", principals.join(","), "-V", o.validity ?? "always:forever", pub]);
  const cert = readFileSync(join(dir, `${host.name}_host_ed25519_key-cert.pub`), "utf8").trim();
  await writeInto(host, HOST_CERT, `${cert}\n`);
  await reloadSshd(host, cert);
  return cert;
}

/**
 * SIGHUP to the listening sshd (its pid file; PID 1 when the container runs sshd alone): it
 * re-executes itself and rereads its configuration. Then wait until it presents `cert`
 * (ssh-keyscan -c lists the certificates a server offers).
 */
async function reloadSshd(host: CertifiableHost, cert: string): Promise<void> {
  const r = await host.exec('kill -HUP "$(cat /run/sshd.pid 2>/dev/null || echo 1)"');
  if (r.exitCode !== 0) throw new Error(`${host.name}: cannot reload sshd: ${r.stderr.trim()}`);
  const blob = cert.split(/\s+/)[1]!;
  const deadline = Date.now() + 60_000; // a loaded machine restarts sshd slowly
  for (;;) {
    const scan = await run("ssh-keyscan", ["-c", "-T", "2", "-t", "ed25519", "-p", String(host.port), host.address]).catch(() => ({ stdout: "" }));
    if (scan.stdout.includes(blob)) return;
    if (Date.now() > deadline) throw new Error(`${host.name}: sshd does not present its new host certificate 60 s after its reload`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

/** Set up the lab's CAs, every host's certificate and sshd configuration, and the login key's user certificate. */
export async function setUpLabCertificates(dir: string, hosts: CertifiableHost[], login: { privateKeyPath: string; user: string }): Promise<LabCertificates> {
  const [hostCa, userCa] = await Promise.all([newCa(dir, "host_ca"), newCa(dir, "user_ca")]);
  await keygen(dir, ["-q", "-s", userCa.path, "-I", `postfleet-lab ${login.user}`, "-n", login.user, `${login.privateKeyPath}.pub`]);
  const knownHostsPath = join(dir, "known_hosts_ca");
  writeFileSync(knownHostsPath, `@cert-authority * ${hostCa.publicKey}\n`, { mode: 0o600 });
  const certs: LabCertificates = {
    hostCaPath: hostCa.path,
    hostCaPublicKey: hostCa.publicKey,
    knownHostsPath,
    userCaPath: userCa.path,
    userCaPublicKey: userCa.publicKey,
    userCertificatePath: `${login.privateKeyPath}-cert.pub`,
  };
  await Promise.all(
    hosts.map(async (h) => {
      await writeInto(h, USER_CA, `${userCa.publicKey}\n`);
      await writeInto(h, DROP_IN, `# postfleet lab: host certificate and user CA\nHostCertificate ${HOST_CERT}\nTrustedUserCAKeys ${USER_CA}\n`);
      await installHostCertificate(dir, certs, h);
    }),
  );
  return certs;
}
