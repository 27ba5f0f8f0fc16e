// OpenSSH certificates (PROTOCOL.certkeys): parsing the wire blob, checking the
// CA's signature with node:crypto, and the rules ssh applies to a host
// certificate before it trusts it (sshconnect.c check_host_cert,
// sshkey_cert_check_host). Pure: no files, no network; known-hosts.ts feeds it.
import { createPublicKey, verify as cryptoVerify, type KeyObject } from "node:crypto";

const CERT_SUFFIX = "-cert-v01@openssh.com";

export type CertificateKind = "user" | "host";

export interface CertificateOption {
  name: string;
  /** The option's data field, raw (for most options a packed string, or empty). */
  data: Buffer;
}

export interface SshCertificate {
  /** Full certificate type, e.g. "ssh-ed25519-cert-v01@openssh.com". */
  certType: string;
  /** The certified key's own type, e.g. "ssh-ed25519". */
  keyType: string;
  nonce: Buffer;
  /** The certified key as a plain public key blob (keyType + its fields), as known_hosts would hold it. */
  publicKey: Buffer;
  serial: bigint;
  kind: CertificateKind;
  keyId: string;
  /** Empty: valid for every name (host certificates only; ssh requires principals in user certificates). */
  principals: string[];
  /** Seconds since the epoch; validBefore 2^64-1 is "forever". */
  validAfter: bigint;
  validBefore: bigint;
  criticalOptions: CertificateOption[];
  extensions: CertificateOption[];
  /** The CA's public key blob. */
  signatureKey: Buffer;
  /** The signature algorithm, e.g. "ssh-ed25519", "rsa-sha2-512". */
  signatureType: string;
  /** The signature's own bytes (inside the signature blob). */
  signature: Buffer;
  /** The bytes the CA signed: the certificate up to and including the signature key. */
  signedData: Buffer;
}

export class CertificateFormatError extends Error {}

/** Is this key type (or key blob type) an OpenSSH certificate? */
export function isCertificateType(type: string): boolean {
  return type.endsWith(CERT_SUFFIX);
}

/** The plain key type a certificate type certifies ("ssh-ed25519-cert-v01@openssh.com" → "ssh-ed25519"). */
export function certifiedKeyType(certType: string): string {
  return isCertificateType(certType) ? certType.slice(0, -CERT_SUFFIX.length) : certType;
}

class Reader {
  pos = 0;
  constructor(private readonly buf: Buffer) {}

  get done(): boolean {
    return this.pos === this.buf.length;
  }

  uint32(what: string): number {
    if (this.pos + 4 > this.buf.length) throw new CertificateFormatError(`certificate truncated in ${what}`);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  uint64(what: string): bigint {
    if (this.pos + 8 > this.buf.length) throw new CertificateFormatError(`certificate truncated in ${what}`);
    const v = this.buf.readBigUInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  bytes(what: string): Buffer {
    const len = this.uint32(what);
    if (this.pos + len > this.buf.length) throw new CertificateFormatError(`certificate truncated in ${what}`);
    const v = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return v;
  }

  text(what: string): string {
    return this.bytes(what).toString("utf8");
  }
}

function sshString(b: Buffer | string): Buffer {
  const data = typeof b === "string" ? Buffer.from(b, "utf8") : b;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  return Buffer.concat([len, data]);
}

/** The public fields of each key type, in order (PROTOCOL.certkeys; sk keys carry an application string). */
const KEY_FIELDS: Record<string, number> = {
  "ssh-rsa": 2,
  "ssh-dss": 4,
  "ecdsa-sha2-nistp256": 2,
  "ecdsa-sha2-nistp384": 2,
  "ecdsa-sha2-nistp521": 2,
  "ssh-ed25519": 1,
  "sk-ecdsa-sha2-nistp256@openssh.com": 3,
  "sk-ssh-ed25519@openssh.com": 2,
};

function readOptions(blob: Buffer, what: string): CertificateOption[] {
  const r = new Reader(blob);
  const out: CertificateOption[] = [];
  while (!r.done) out.push({ name: r.text(what), data: r.bytes(what) });
  return out;
}

/** Parse a certificate blob (the base64-decoded second field of a `*-cert.pub` file). Throws CertificateFormatError. */
export function parseCertificate(blob: Buffer): SshCertificate {
  const r = new Reader(blob);
  const certType = r.text("key type");
  if (!isCertificateType(certType)) throw new CertificateFormatError(`${certType} is not a certificate type`);
  const keyType = certifiedKeyType(certType);
  const fields = KEY_FIELDS[keyType];
  if (fields === undefined) throw new CertificateFormatError(`unsupported certificate key type ${keyType}`);
  const nonce = r.bytes("nonce");
  const keyParts: Buffer[] = [];
  for (let i = 0; i < fields; i++) keyParts.push(r.bytes("public key"));
  const serial = r.uint64("serial");
  const typeCode = r.uint32("certificate type");
  if (typeCode !== 1 && typeCode !== 2) throw new CertificateFormatError(`unknown certificate type ${typeCode} (1 user, 2 host)`);
  const keyId = r.text("key id");
  const principalsBlob = r.bytes("principals");
  const validAfter = r.uint64("valid after");
  const validBefore = r.uint64("valid before");
  const criticalOptions = readOptions(r.bytes("critical options"), "critical options");
  const extensions = readOptions(r.bytes("extensions"), "extensions");
  r.bytes("reserved");
  const signatureKey = r.bytes("signature key");
  const signedData = blob.subarray(0, r.pos);
  const sigBlob = r.bytes("signature");
  if (!r.done) throw new CertificateFormatError("trailing data after the certificate's signature");
  const sr = new Reader(sigBlob);
  const signatureType = sr.text("signature");
  const signature = sr.bytes("signature");
  const principals: string[] = [];
  const pr = new Reader(principalsBlob);
  while (!pr.done) principals.push(pr.text("principals"));
  return {
    certType,
    keyType,
    nonce,
    publicKey: Buffer.concat([sshString(keyType), ...keyParts.map(sshString)]),
    serial,
    kind: typeCode === 1 ? "user" : "host",
    keyId,
    principals,
    validAfter,
    validBefore,
    criticalOptions,
    extensions,
    signatureKey,
    signatureType,
    signature,
    signedData,
  };
}

function base64url(b: Buffer): string {
  return b.toString("base64url");
}

/** A node:crypto public key from an SSH public key blob (ed25519, ECDSA or RSA: the types OpenSSH's CASignatureAlgorithms allow). */
function publicKeyObject(blob: Buffer): { key: KeyObject; type: string } {
  const r = new Reader(blob);
  const type = r.text("CA key type");
  if (type === "ssh-ed25519") {
    const x = r.bytes("CA key");
    if (x.length !== 32) throw new CertificateFormatError("malformed ed25519 CA key");
    return { type, key: createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: base64url(x) }, format: "jwk" }) };
  }
  const curve = /^ecdsa-sha2-nistp(256|384|521)$/.exec(type);
  if (curve) {
    r.bytes("CA key curve");
    const point = r.bytes("CA key");
    const size = curve[1] === "521" ? 66 : Number(curve[1]) / 8;
    if (point.length !== 1 + 2 * size || point[0] !== 4) throw new CertificateFormatError(`malformed ${type} CA key`);
    const jwk = { kty: "EC", crv: `P-${curve[1]}`, x: base64url(point.subarray(1, 1 + size)), y: base64url(point.subarray(1 + size)) };
    return { type, key: createPublicKey({ key: jwk, format: "jwk" }) };
  }
  if (type === "ssh-rsa") {
    const e = r.bytes("CA key exponent");
    const n = r.bytes("CA key modulus");
    const strip = (b: Buffer) => (b[0] === 0 ? b.subarray(1) : b);
    return { type, key: createPublicKey({ key: { kty: "RSA", n: base64url(strip(n)), e: base64url(strip(e)) }, format: "jwk" }) };
  }
  throw new CertificateFormatError(`unsupported CA key type ${type}`);
}

/** An SSH ECDSA signature (mpint r, mpint s) as IEEE P1363 r||s of the curve's size. */
function ecdsaP1363(sig: Buffer, size: number): Buffer {
  const r = new Reader(sig);
  const fixed = (v: Buffer) => {
    const trimmed = v.subarray(Math.max(0, v.findIndex((b) => b !== 0)));
    if (trimmed.length > size) throw new CertificateFormatError("malformed ECDSA signature");
    return Buffer.concat([Buffer.alloc(size - trimmed.length), trimmed]);
  };
  return Buffer.concat([fixed(r.bytes("signature r")), fixed(r.bytes("signature s"))]);
}

/**
 * The signature algorithms ssh accepts from a CA by default (ssh_config CASignatureAlgorithms, OpenSSH 8.2+):
 * not ssh-rsa (SHA-1).
 */
export const DEFAULT_CA_SIGNATURE_ALGORITHMS = [
  "ssh-ed25519",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "rsa-sha2-512",
  "rsa-sha2-256",
];

/** Does the CA's signature over the certificate verify? (False on a malformed or mismatched signature.) */
export function verifyCertificateSignature(cert: SshCertificate): boolean {
  let ca: { key: KeyObject; type: string };
  try {
    ca = publicKeyObject(cert.signatureKey);
  } catch {
    return false;
  }
  const t = cert.signatureType;
  try {
    if (ca.type === "ssh-ed25519") return t === "ssh-ed25519" && cryptoVerify(null, cert.signedData, ca.key, cert.signature);
    if (ca.type.startsWith("ecdsa-sha2-nistp")) {
      if (t !== ca.type) return false;
      const bits = ca.type.slice("ecdsa-sha2-nistp".length);
      const hash = bits === "256" ? "sha256" : bits === "384" ? "sha384" : "sha512";
      const size = bits === "521" ? 66 : Number(bits) / 8;
      return cryptoVerify(hash, cert.signedData, { key: ca.key, dsaEncoding: "ieee-p1363" }, ecdsaP1363(cert.signature, size));
    }
    const hash = t === "rsa-sha2-512" ? "sha512" : t === "rsa-sha2-256" ? "sha256" : t === "ssh-rsa" ? "sha1" : undefined;
    return hash !== undefined && cryptoVerify(hash, cert.signedData, ca.key, cert.signature);
  } catch {
    return false;
  }
}

/** A CA key trusted for a host (an @cert-authority line), or a revoked key (an @revoked line), with where it came from. */
export interface KeySource {
  key: Buffer;
  /** "FILE:LINE", for messages. */
  where: string;
}

export type HostCertificateRefusal =
  | "malformed"
  | "unknown-ca"
  | "bad-signature"
  | "disallowed-signature-algorithm"
  | "revoked"
  | "not-a-host-certificate"
  | "not-yet-valid"
  | "expired"
  | "wrong-principal"
  | "critical-option";

export type HostCertificateVerdict =
  | { ok: true; cert: SshCertificate; ca: KeySource }
  | { ok: false; reason: HostCertificateRefusal; message: string; cert?: SshCertificate };

export interface HostCertificateCheck {
  /** The certificate blob the host presented. */
  blob: Buffer;
  /** The name ssh checks the principals against: HostKeyAlias, else the host name (no port). */
  principal: string;
  /** @cert-authority keys whose patterns match the host. */
  authorities: KeySource[];
  /** @revoked keys whose patterns match the host. */
  revoked: KeySource[];
  /** Seconds since the epoch (default: now). */
  now?: bigint;
  /** Default DEFAULT_CA_SIGNATURE_ALGORITHMS. */
  caSignatureAlgorithms?: string[];
}

/** Seconds since the epoch as ssh-keygen -L prints validity times (UTC here). */
function when(t: bigint): string {
  if (t === 0xffffffffffffffffn) return "forever";
  const ms = Number(t) * 1000;
  return Number.isFinite(ms) && ms < 8.64e15 ? new Date(ms).toISOString().replace(".000Z", "Z") : `${t}`;
}

/**
 * Would ssh trust this host certificate? The checks and their order follow OpenSSH 9.2: the
 * signature (sshkey_from_blob), a CA among the host's @cert-authority keys, neither the CA nor
 * the certified key @revoked, type host, the validity interval, the principal (exact; no
 * principals means any host), no critical option, the CA's signature algorithm.
 */
export function checkHostCertificate(c: HostCertificateCheck): HostCertificateVerdict {
  let cert: SshCertificate;
  try {
    cert = parseCertificate(c.blob);
  } catch (e) {
    return { ok: false, reason: "malformed", message: `malformed host certificate: ${(e as Error).message}` };
  }
  const refuse = (reason: HostCertificateRefusal, message: string): HostCertificateVerdict => ({ ok: false, reason, message, cert });
  const id = `certificate "${cert.keyId}" serial ${cert.serial}`;
  if (!verifyCertificateSignature(cert)) return refuse("bad-signature", `${id}: the CA's signature does not verify`);
  const revokedCa = c.revoked.find((r) => r.key.equals(cert.signatureKey));
  if (revokedCa) return refuse("revoked", `${id}: its CA key is marked @revoked in ${revokedCa.where}`);
  const revokedKey = c.revoked.find((r) => r.key.equals(cert.publicKey));
  if (revokedKey) return refuse("revoked", `${id}: the certified host key is marked @revoked in ${revokedKey.where}`);
  const ca = c.authorities.find((a) => a.key.equals(cert.signatureKey));
  if (!ca) return refuse("unknown-ca", `${id} is signed by a CA that no @cert-authority line for this host lists`);
  if (cert.kind !== "host") return refuse("not-a-host-certificate", `${id} is a user certificate, not a host certificate`);
  const now = c.now ?? BigInt(Math.floor(Date.now() / 1000));
  if (now < cert.validAfter) return refuse("not-yet-valid", `${id} is not yet valid (valid from ${when(cert.validAfter)})`);
  if (now >= cert.validBefore) return refuse("expired", `${id} has expired (valid until ${when(cert.validBefore)})`);
  if (cert.principals.length > 0 && !cert.principals.includes(c.principal)) {
    return refuse("wrong-principal", `${id} is not valid for ${c.principal} (its principals: ${cert.principals.join(", ")})`);
  }
  if (cert.criticalOptions.length > 0) {
    return refuse("critical-option", `${id} has critical options ssh does not support in host certificates: ${cert.criticalOptions.map((o) => o.name).join(", ")}`);
  }
  const allowed = c.caSignatureAlgorithms ?? DEFAULT_CA_SIGNATURE_ALGORITHMS;
  if (!allowed.includes(cert.signatureType)) {
    return refuse("disallowed-signature-algorithm", `${id} is signed with ${cert.signatureType}, which CASignatureAlgorithms does not allow`);
  }
  return { ok: true, cert, ca };
}
