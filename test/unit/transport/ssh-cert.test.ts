// OpenSSH certificates: the parser and the host-certificate rules, against
// certificates made by the real ssh-keygen (and, for what ssh-keygen will not
// make, one signed here the way ssh-keygen signs).
import { execFileSync } from "node:child_process";
import { generateKeyPairSync, sign } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HostKeyError } from "../../../src/transport/errors.js";
import { verifyHostKey } from "../../../src/transport/known-hosts.js";
import {
  certifiedKeyType,
  checkHostCertificate,
  isCertificateType,
  parseCertificate,
  verifyCertificateSignature,
  type HostCertificateCheck,
} from "../../../src/transport/ssh-cert.js";

let dir: string;
let n = 0;

function keygen(...args: string[]): string {
  return execFileSync("ssh-keygen", args, { cwd: dir, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/** A new key pair in the temp dir; returns its path (public key at path.pub). */
function newKey(type: "ed25519" | "ecdsa" | "rsa" = "ed25519"): string {
  const path = join(dir, `k${++n}`);
  keygen("-q", "-t", type, ...(type === "rsa" ? ["-b", "2048"] : []), "-N", "", "-C", "", "-f", path);
  return path;
}

function blobOf(pubFile: string): Buffer {
  return Buffer.from(readFileSync(pubFile, "utf8").trim().split(/\s+/)[1]!, "base64");
}

/** ssh-keygen -s CA ...: certify `key`, return the certificate blob. */
function certify(ca: string, key: string, o: { host?: boolean; id?: string; principals?: string; validity?: string; serial?: number; opts?: string[]; rsaAlg?: string } = {}): Buffer {
  keygen(
    "-q",
    "-s",
    ca,
    ...(o.rsaAlg ? ["-t", o.rsaAlg] : []),
    "-I",
    o.id ?? "test-cert",
    ...(o.host === false ? [] : ["-h"]),
    ...(o.principals === undefined ? [] : ["-n", o.principals]),
    ...(o.validity ? ["-V", o.validity] : []),
    ...(o.serial === undefined ? [] : ["-z", String(o.serial)]),
    ...(o.opts ?? []).flatMap((x) => ["-O", x]),
    `${key}.pub`,
  );
  return blobOf(`${key}-cert.pub`);
}

let ca: string;
let hostKey: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "postfleet-cert-"));
  ca = newKey();
  hostKey = newKey();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function check(blob: Buffer, o: Partial<HostCertificateCheck> = {}) {
  return checkHostCertificate({
    blob,
    principal: "mta01",
    authorities: [{ key: blobOf(`${ca}.pub`), where: "known_hosts:1" }],
    revoked: [],
    ...o,
  });
}

describe("parseCertificate", () => {
  it("reads every field ssh-keygen wrote, as ssh-keygen -L lists them", () => {
    const blob = certify(ca, hostKey, { id: "mta01 host key", principals: "mta01,10.0.0.1", validity: "20200101:20300102", serial: 4242 });
    const c = parseCertificate(blob);
    expect(c.certType).toBe("ssh-ed25519-cert-v01@openssh.com");
    expect(c.keyType).toBe("ssh-ed25519");
    expect(c.kind).toBe("host");
    expect(c.keyId).toBe("mta01 host key");
    expect(c.serial).toBe(4242n);
    expect(c.principals).toEqual(["mta01", "10.0.0.1"]);
    expect(c.validAfter).toBe(BigInt(Date.UTC(2020, 0, 1) / 1000));
    expect(c.validBefore).toBe(BigInt(Date.UTC(2030, 0, 2) / 1000));
    expect(c.nonce.length).toBeGreaterThanOrEqual(16);
    expect(c.publicKey.equals(blobOf(`${hostKey}.pub`))).toBe(true);
    expect(c.signatureKey.equals(blobOf(`${ca}.pub`))).toBe(true);
    expect(c.signatureType).toBe("ssh-ed25519");
    expect(c.criticalOptions).toEqual([]);
    expect(c.extensions).toEqual([]);
    expect(verifyCertificateSignature(c)).toBe(true);
  });

  it("reads a user certificate's critical options and extensions", () => {
    const userKey = newKey();
    const c = parseCertificate(certify(ca, userKey, { host: false, principals: "root", opts: ["force-command=/bin/true", "no-pty"] }));
    expect(c.kind).toBe("user");
    expect(c.validBefore).toBe(0xffffffffffffffffn);
    expect(c.criticalOptions.map((o) => o.name)).toEqual(["force-command"]);
    // The option's data is itself a string: length, then "/bin/true".
    expect(c.criticalOptions[0]!.data.subarray(4).toString()).toBe("/bin/true");
    expect(c.extensions.map((o) => o.name)).toEqual(["permit-X11-forwarding", "permit-agent-forwarding", "permit-port-forwarding", "permit-user-rc"]);
  });

  it("verifies ECDSA and RSA (rsa-sha2-512, rsa-sha2-256) CA signatures over ECDSA and RSA keys", () => {
    const ecCa = newKey("ecdsa");
    const rsaCa = newKey("rsa");
    const ecKey = newKey("ecdsa");
    const rsaKey = newKey("rsa");
    const ec = parseCertificate(certify(ecCa, rsaKey, { principals: "mta01" }));
    expect(ec.keyType).toBe("ssh-rsa");
    expect(ec.signatureType).toBe("ecdsa-sha2-nistp256");
    expect(ec.publicKey.equals(blobOf(`${rsaKey}.pub`))).toBe(true);
    expect(verifyCertificateSignature(ec)).toBe(true);
    for (const alg of ["rsa-sha2-512", "rsa-sha2-256"]) {
      const r = parseCertificate(certify(rsaCa, ecKey, { principals: "mta01", rsaAlg: alg }));
      expect(r.keyType).toBe("ecdsa-sha2-nistp256");
      expect(r.signatureType).toBe(alg);
      expect(r.publicKey.equals(blobOf(`${ecKey}.pub`))).toBe(true);
      expect(verifyCertificateSignature(r)).toBe(true);
    }
  });

  it("finds a tampered certificate's signature bad, and refuses truncated or plain-key blobs", () => {
    const blob = Buffer.from(certify(ca, hostKey, { principals: "mta01" }));
    const c = parseCertificate(blob);
    // Change one byte of a principal: still parses, no longer verifies.
    const at = blob.indexOf(Buffer.from("mta01"));
    blob[at] = "n".charCodeAt(0);
    const tampered = parseCertificate(blob);
    expect(tampered.principals).toEqual(["nta01"]);
    expect(verifyCertificateSignature(tampered)).toBe(false);
    expect(check(blob, { principal: "nta01" })).toMatchObject({ ok: false, reason: "bad-signature" });
    expect(() => parseCertificate(blob.subarray(0, blob.length - 10))).toThrow(/truncated/);
    expect(() => parseCertificate(blobOf(`${hostKey}.pub`))).toThrow(/not a certificate type/);
    expect(c.principals).toEqual(["mta01"]);
    expect(isCertificateType("ssh-ed25519-cert-v01@openssh.com")).toBe(true);
    expect(isCertificateType("ssh-ed25519")).toBe(false);
    expect(certifiedKeyType("rsa-sha2-512-cert-v01@openssh.com")).toBe("rsa-sha2-512");
  });
});

describe("checkHostCertificate: the rules ssh applies", () => {
  it("accepts a valid host certificate signed by a listed CA, for a listed principal", () => {
    const v = check(certify(ca, hostKey, { principals: "mta01,127.0.0.1", validity: "-5m:+1h" }));
    expect(v).toMatchObject({ ok: true, ca: { where: "known_hosts:1" } });
    expect(check(certify(ca, hostKey, { principals: "mta01,127.0.0.1" }), { principal: "127.0.0.1" }).ok).toBe(true);
  });

  it("accepts a host certificate without principals for any host, as ssh does", () => {
    expect(check(certify(ca, hostKey, {}), { principal: "anything.example" }).ok).toBe(true);
  });

  it("refuses an expired certificate", () => {
    const v = check(certify(ca, hostKey, { principals: "mta01", validity: "20200101:20200102" }));
    expect(v).toMatchObject({ ok: false, reason: "expired" });
    expect(!v.ok && v.message).toMatch(/has expired \(valid until 2020-01-02T00:00:00Z\)/);
  });

  it("refuses a certificate not yet valid", () => {
    const v = check(certify(ca, hostKey, { principals: "mta01", validity: "20990101:20991231" }));
    expect(v).toMatchObject({ ok: false, reason: "not-yet-valid" });
    expect(!v.ok && v.message).toMatch(/not yet valid \(valid from 2099-01-01T00:00:00Z\)/);
    // The interval's ends, to the second: valid_after inclusive, valid_before exclusive.
    const c = parseCertificate(certify(ca, hostKey, { principals: "mta01", validity: "20990101:20991231" }));
    const blob = certify(ca, hostKey, { principals: "mta01", validity: "20990101:20991231" });
    expect(check(blob, { now: c.validAfter - 1n }).ok).toBe(false);
    expect(check(blob, { now: c.validAfter }).ok).toBe(true);
    expect(check(blob, { now: c.validBefore - 1n }).ok).toBe(true);
    expect(check(blob, { now: c.validBefore })).toMatchObject({ ok: false, reason: "expired" });
  });

  it("refuses a certificate for other principals (exact names, no wildcards)", () => {
    const v = check(certify(ca, hostKey, { principals: "mta02,mta*" }));
    expect(v).toMatchObject({ ok: false, reason: "wrong-principal" });
    expect(!v.ok && v.message).toMatch(/not valid for mta01 \(its principals: mta02, mta\*\)/);
  });

  it("refuses a certificate signed by a CA no @cert-authority line lists", () => {
    const other = newKey();
    const v = check(certify(other, hostKey, { principals: "mta01" }));
    expect(v).toMatchObject({ ok: false, reason: "unknown-ca" });
  });

  it("refuses a certificate whose CA, or whose own key, is @revoked", () => {
    const blob = certify(ca, hostKey, { principals: "mta01" });
    const byCa = check(blob, { revoked: [{ key: blobOf(`${ca}.pub`), where: "known_hosts:3" }] });
    expect(byCa).toMatchObject({ ok: false, reason: "revoked" });
    expect(!byCa.ok && byCa.message).toMatch(/CA key is marked @revoked in known_hosts:3/);
    const byKey = check(blob, { revoked: [{ key: blobOf(`${hostKey}.pub`), where: "known_hosts:4" }] });
    expect(byKey).toMatchObject({ ok: false, reason: "revoked" });
    expect(!byKey.ok && byKey.message).toMatch(/certified host key is marked @revoked in known_hosts:4/);
  });

  it("refuses a user certificate presented as a host's", () => {
    const v = check(certify(ca, hostKey, { host: false, principals: "mta01" }));
    expect(v).toMatchObject({ ok: false, reason: "not-a-host-certificate" });
  });

  it("refuses a CA signature made with ssh-rsa (SHA-1), outside ssh's default CASignatureAlgorithms", () => {
    const rsaCa = newKey("rsa");
    const blob = certify(rsaCa, hostKey, { principals: "mta01", rsaAlg: "ssh-rsa" });
    expect(parseCertificate(blob).signatureType).toBe("ssh-rsa");
    const v = check(blob, { authorities: [{ key: blobOf(`${rsaCa}.pub`), where: "kh:1" }] });
    expect(v).toMatchObject({ ok: false, reason: "disallowed-signature-algorithm" });
  });

  it("refuses a host certificate with a critical option (ssh-keygen drops them from host certificates; signed here)", () => {
    const { publicKey, privateKey } = generateKeyPairSync("ed25519");
    const caPub = Buffer.from(publicKey.export({ format: "jwk" }).x!, "base64url");
    const str = (b: Buffer | string) => {
      const d = Buffer.from(b);
      const l = Buffer.alloc(4);
      l.writeUInt32BE(d.length);
      return Buffer.concat([l, d]);
    };
    const u64 = (v: bigint) => {
      const b = Buffer.alloc(8);
      b.writeBigUInt64BE(v);
      return b;
    };
    const u32 = (v: number) => {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(v);
      return b;
    };
    const caBlob = Buffer.concat([str("ssh-ed25519"), str(caPub)]);
    const hostPub = blobOf(`${hostKey}.pub`).subarray(4 + "ssh-ed25519".length); // string pk
    const body = Buffer.concat([
      str("ssh-ed25519-cert-v01@openssh.com"),
      str(Buffer.alloc(32, 7)),
      hostPub,
      u64(1n),
      u32(2),
      str("crafted"),
      str(str("mta01")),
      u64(0n),
      u64(0xffffffffffffffffn),
      str(Buffer.concat([str("force-command"), str(str("/bin/true"))])),
      str(Buffer.alloc(0)),
      str(Buffer.alloc(0)),
      str(caBlob),
    ]);
    const blob = Buffer.concat([body, str(Buffer.concat([str("ssh-ed25519"), str(sign(null, body, privateKey))]))]);
    const authorities = [{ key: caBlob, where: "kh:1" }];
    expect(verifyCertificateSignature(parseCertificate(blob))).toBe(true);
    expect(check(blob, { authorities })).toMatchObject({ ok: false, reason: "critical-option" });
    // The same certificate with ssh-keygen's own tool: it reads it and lists the option.
    writeFileSync(join(dir, "crafted-cert.pub"), `ssh-ed25519-cert-v01@openssh.com ${blob.toString("base64")}\n`);
    expect(keygen("-L", "-f", join(dir, "crafted-cert.pub"))).toMatch(/force-command \/bin\/true/);
  });
});

describe("verifyHostKey with a host certificate (known_hosts @cert-authority)", () => {
  let kh: string;
  const caLine = () => `@cert-authority mta01,[127.0.0.1]:2222 ${readFileSync(`${ca}.pub`, "utf8").trim()}\n`;
  const req = (key: Buffer, o: Partial<Parameters<typeof verifyHostKey>[0]> = {}) =>
    verifyHostKey({ hostLabel: "mta01", host: "mta01", port: 22, key, file: kh, checking: "strict", ...o });
  beforeAll(() => {
    kh = join(dir, "known_hosts");
  });

  it("trusts a certificate from a CA listed for the host: only an @cert-authority line, strict checking", () => {
    writeFileSync(kh, caLine());
    const r = req(certify(ca, hostKey, { principals: "mta01" }));
    expect(r).toMatchObject({ status: "ok", entry: { marker: "cert-authority", line: 1 } });
    // Under [host]:port the CA line is looked up there, the principal is the bare host name, as ssh does.
    const p = req(certify(ca, hostKey, { principals: "127.0.0.1" }), { host: "127.0.0.1", port: 2222 });
    expect(p).toMatchObject({ status: "ok" });
    // HostKeyAlias: both the lookup and the principal.
    const a = req(certify(ca, hostKey, { principals: "mta01" }), { host: "10.9.9.9", port: 2200, hostKeyAlias: "mta01" });
    expect(a).toMatchObject({ status: "ok" });
  });

  it("refuses an expired or wrong-principal certificate with the reason, strict checking", () => {
    writeFileSync(kh, caLine());
    const expired = certify(ca, hostKey, { principals: "mta01", validity: "20200101:20200102" });
    expect(() => req(expired)).toThrow(HostKeyError);
    expect(() => req(expired)).toThrow(/host certificate for mta01 .* refused: certificate "test-cert" serial 0 has expired.*is not known/);
    const wrong = certify(ca, hostKey, { principals: "mta02" });
    expect(() => req(wrong)).toThrow(/refused: .* is not valid for mta01 \(its principals: mta02\)/);
  });

  it("refuses a certificate from a revoked CA even with checking off", () => {
    writeFileSync(kh, caLine() + `@revoked * ${readFileSync(`${ca}.pub`, "utf8").trim()}\n`);
    const blob = certify(ca, hostKey, { principals: "mta01" });
    let err: unknown;
    try {
      req(blob, { checking: "off" });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(HostKeyError);
    expect((err as HostKeyError).reason).toBe("revoked");
    expect((err as Error).message).toMatch(/CA key is marked @revoked/);
  });

  it("falls back to the plain key as ssh does when the certificate does not count (unknown CA, known plain key)", () => {
    const other = newKey();
    writeFileSync(kh, caLine() + `mta01 ${readFileSync(`${hostKey}.pub`, "utf8").trim()}\n`);
    expect(req(certify(other, hostKey, { principals: "mta01" }))).toMatchObject({ status: "ok", entry: { marker: null, line: 2 } });
    writeFileSync(kh, caLine());
    expect(() => req(certify(other, hostKey, { principals: "mta01" }))).toThrow(/signed by a CA that no @cert-authority line for this host lists/);
  });
});

describe("what ssh2 lets postfleet do with certificates (revisit the transport when this changes)", () => {
  it("ssh2 refuses to offer certificate host key algorithms, so hosts show postfleet their plain keys", async () => {
    const { Client } = (await import("ssh2")).default;
    const c = new Client();
    expect(() =>
      c.connect({ host: "127.0.0.1", port: 1, username: "x", algorithms: { serverHostKey: ["ssh-ed25519-cert-v01@openssh.com" as never] } }),
    ).toThrow(/Unsupported algorithm: ssh-ed25519-cert-v01@openssh.com/);
  });
});
