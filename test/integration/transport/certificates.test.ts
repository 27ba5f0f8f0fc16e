// SSH certificates on real lab hosts (startLab({certificates: true})): sshd
// presents a host certificate from the lab host CA and trusts the lab user CA.
// The real OpenSSH client is the reference: what it accepts and refuses with
// only an @cert-authority line, postfleet's verifier accepts and refuses for the
// certificate the host really presents, with the reason. postfleet's own
// connection (ssh2) cannot negotiate certificates: it is refused with that reason.
import { execFile } from "node:child_process";
import { chmodSync, copyFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { installHostCertificate } from "../../../src/lab/certificates.js";
import { HostKeyError, AuthError } from "../../../src/transport/errors.js";
import { verifyHostKey } from "../../../src/transport/known-hosts.js";
import { openConnection } from "../../../src/transport/ssh-connection.js";
import { parseCertificate } from "../../../src/transport/ssh-cert.js";
import { startLab, type Lab } from "../../support/lab.js";
import { isolated, labTarget } from "../../support/transport.js";

const run = promisify(execFile);

let lab: Lab;
beforeAll(async () => {
  lab = await startLab(2, { certificates: true });
});
afterAll(async () => {
  await lab?.stop();
});

/** The real ssh, nothing from this machine's config or agent; host keys from `knownHosts` only, strictly. */
async function ssh(i: number, command: string, o: { knownHosts?: string; key?: string } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const h = lab.hosts[i]!;
  const args = [
    "-F", "/dev/null",
    "-o", `UserKnownHostsFile=${o.knownHosts ?? lab.certificates!.knownHostsPath}`,
    "-o", "GlobalKnownHostsFile=/dev/null",
    "-o", "StrictHostKeyChecking=yes",
    "-o", "BatchMode=yes",
    "-o", "IdentityAgent=none",
    "-o", "IdentitiesOnly=yes",
    "-i", o.key ?? lab.privateKeyPath,
    "-p", String(h.port),
    `${lab.user}@${h.address}`,
    command,
  ];
  try {
    const r = await run("ssh", args, { timeout: 20_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof x.code === "number" ? x.code : -1, stdout: x.stdout ?? "", stderr: x.stderr ?? "" };
  }
}

/** The host certificate sshd presents now (ssh-keyscan -c). */
async function presentedCertificate(i: number): Promise<Buffer> {
  const h = lab.hosts[i]!;
  const { stdout } = await run("ssh-keyscan", ["-c", "-t", "ed25519", "-p", String(h.port), h.address]);
  // Lines of "[host]:port type base64", or "type base64" for certificates.
  const fields = stdout.split("\n").map((l) => l.trim().split(/\s+/)).find((f) => f.some((x) => x.endsWith("-cert-v01@openssh.com")));
  if (!fields) throw new Error(`${h.name} presents no certificate: ${stdout}`);
  return Buffer.from(fields[fields.findIndex((x) => x.endsWith("-cert-v01@openssh.com")) + 1]!, "base64");
}

/** postfleet's verifier on that certificate, strict, with only the lab's @cert-authority line. */
function postfleetVerdict(i: number, cert: Buffer): string {
  const h = lab.hosts[i]!;
  try {
    const r = verifyHostKey({ hostLabel: h.name, host: h.address, port: h.port, key: cert, file: lab.certificates!.knownHostsPath, checking: "strict" });
    return r.status;
  } catch (e) {
    if (e instanceof HostKeyError) return `refused: ${e.message}`;
    throw e;
  }
}

describe("lab certificates", () => {
  it("strict checking with only an @cert-authority line: ssh runs postmulti -l, postfleet's verifier trusts the certificate the host presents", async () => {
    for (const i of [0, 1]) {
      const r = await ssh(i, "postmulti -l");
      expect(r.stderr).not.toMatch(/WARNING|Host key verification failed/);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^-\s+-\s+y\s+\/etc\/postfix\n$/);
      const cert = parseCertificate(await presentedCertificate(i));
      expect(cert.kind).toBe("host");
      expect(cert.principals).toEqual([lab.hosts[i]!.name, lab.hosts[i]!.address]);
      expect(cert.publicKey.toString("base64")).toBe(lab.hosts[i]!.hostKey.split(/\s+/)[1]);
      expect(postfleetVerdict(i, await presentedCertificate(i))).toBe("ok");
    }
  });

  it("postfleet's ssh2 connection sees the plain host key only (no certificate negotiation) and refuses it with that reason", async () => {
    const err = await openConnection(labTarget(lab, 0, { knownHostsFile: lab.certificates!.knownHostsPath, hostKeyChecking: "strict" }), isolated).then(
      (c) => c.close().then(() => undefined),
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(HostKeyError);
    expect((err as Error).message).toMatch(/only an @cert-authority line vouches for .*\(ssh2\) cannot negotiate certificate host keys/);
    expect((err as Error).message).toMatch(/or use the openssh transport, which checks the certificate \(ssh2 was set for this host: .*auto, the default, chooses openssh for such a host\)$/);
  });

  it("an expired and a wrong-principal host certificate: ssh refuses both, postfleet refuses both with the reason", async () => {
    const h = lab.hosts[1]!;
    try {
      await installHostCertificate(lab.dir, lab.certificates!, h, { validity: "20200101:20200201" });
      const expired = await ssh(1, "true");
      expect(expired.code).toBe(255);
      expect(expired.stderr).toMatch(/Certificate invalid: expired/);
      expect(postfleetVerdict(1, await presentedCertificate(1))).toMatch(/^refused: host certificate for .* has expired \(valid until 2020-02-01T00:00:00Z\)/);

      await installHostCertificate(lab.dir, lab.certificates!, h, { principals: ["mta99", "10.9.9.9"] });
      const wrong = await ssh(1, "true");
      expect(wrong.code).toBe(255);
      expect(wrong.stderr).toMatch(/Certificate invalid: name is not a listed principal/);
      expect(postfleetVerdict(1, await presentedCertificate(1))).toMatch(/^refused: .* is not valid for 127\.0\.0\.1 \(its principals: mta99, 10\.9\.9\.9\)/);
    } finally {
      await installHostCertificate(lab.dir, lab.certificates!, h);
    }
    expect((await ssh(1, "true")).code).toBe(0);
  });

  it("a user certificate logs in where the plain key is not in authorized_keys (ssh); postfleet cannot present it", async () => {
    const h = lab.hosts[0]!;
    expect((await h.exec("rm -f /root/.ssh/authorized_keys /home/*/.ssh/authorized_keys")).exitCode).toBe(0);
    // The same private key without its certificate beside it: refused now.
    const bare = join(lab.dir, "bare_key");
    copyFileSync(lab.privateKeyPath, bare);
    chmodSync(bare, 0o600);
    const plain = await ssh(0, "true", { key: bare });
    expect(plain.code).toBe(255);
    expect(plain.stderr).toMatch(/Permission denied/);
    const withCert = await ssh(0, "id -un");
    expect(withCert.code).toBe(0);
    expect(withCert.stdout.trim()).toBe(lab.user);
    // postfleet offers the key, not the certificate (ssh2 1.17 signs with the certificate's type name).
    const err = await openConnection(labTarget(lab, 0), isolated).then(
      (c) => c.close().then(() => undefined),
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AuthError);
    expect((err as Error).message).toContain(
      `tried: key ${lab.privateKeyPath}; not presented: the user certificate ${lab.privateKeyPath}-cert.pub (ssh would offer it; ` +
        `postfleet's SSH library, ssh2, cannot sign with a certificate)`,
    );
    expect((err as Error).message).toMatch(/or use the openssh transport, which presents it \(ssh2 was set for this host: .*auto, the default, chooses openssh where ssh has a certificate to present\)$/);
  });
});
