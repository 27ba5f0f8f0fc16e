// Ansible Vault (formats 1.1 and 1.2) with Node's crypto: PBKDF2-SHA256
// (10000 iterations, 80 bytes: AES key, HMAC key, CTR counter), AES-256-CTR,
// HMAC-SHA256 over the ciphertext, PKCS#7 padding. Plaintext and passwords
// never go into error messages.

import { createCipheriv, createDecipheriv, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from "node:crypto";

export const VAULT_HEADER = "$ANSIBLE_VAULT";

export interface VaultSecret {
  /** Vault id label ("default" for --vault-password-file / --ask-vault-pass). */
  id: string;
  password: Buffer;
  /** vault_id_match: tried only on vault data whose envelope names this id (1.2 format). */
  onlyMatchingId?: boolean;
}

/** A `!vault` value: kept encrypted until something needs its text. */
export class VaultedString {
  constructor(readonly ciphertext: string) {}
  toJSON(): { __ansible_vault: string } {
    return { __ansible_vault: this.ciphertext };
  }
}

/** A `!unsafe` value: never templated; shown as ansible-inventory shows it. */
export class UnsafeText {
  constructor(readonly text: string) {}
  toJSON(): { __ansible_unsafe: string } {
    return { __ansible_unsafe: this.text };
  }
}

export class VaultError extends Error {}

export function isVaultText(text: string): boolean {
  return text.trimStart().startsWith(VAULT_HEADER);
}

interface Envelope {
  version: string;
  cipher: string;
  vaultId?: string;
  salt: Buffer;
  hmac: Buffer;
  ciphertext: Buffer;
}

function parseEnvelope(text: string): Envelope {
  const lines = text.trim().split(/\r?\n/);
  const header = lines.shift()!.trim().split(";");
  if (header[0] !== VAULT_HEADER || header.length < 3) throw new VaultError("not a vault envelope: the first line must be $ANSIBLE_VAULT;1.1;AES256");
  const [, version, cipher, vaultId] = header as [string, string, string, string | undefined];
  if (version !== "1.1" && version !== "1.2") throw new VaultError(`vault format ${version} is not supported (1.1 and 1.2 are)`);
  if (cipher !== "AES256") throw new VaultError(`vault cipher ${cipher} is not supported (AES256 is)`);
  const body = lines.map((l) => l.trim()).join("");
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(body)) throw new VaultError("vault data is not hexadecimal: the file or value was damaged");
  const inner = Buffer.from(body, "hex").toString("latin1").split("\n");
  if (inner.length !== 3 || inner.some((p) => !/^(?:[0-9a-fA-F]{2})+$/.test(p))) throw new VaultError("vault data is malformed: expected salt, HMAC and ciphertext");
  const env: Envelope = {
    version,
    cipher,
    salt: Buffer.from(inner[0]!, "hex"),
    hmac: Buffer.from(inner[1]!, "hex"),
    ciphertext: Buffer.from(inner[2]!, "hex"),
  };
  if (vaultId) env.vaultId = vaultId;
  return env;
}

function deriveKeys(password: Buffer, salt: Buffer): { key: Buffer; hmacKey: Buffer; iv: Buffer } {
  const d = pbkdf2Sync(password, salt, 10000, 80, "sha256");
  return { key: d.subarray(0, 32), hmacKey: d.subarray(32, 64), iv: d.subarray(64, 80) };
}

function tryDecrypt(env: Envelope, password: Buffer): Buffer | undefined {
  const { key, hmacKey, iv } = deriveKeys(password, env.salt);
  const mac = createHmac("sha256", hmacKey).update(env.ciphertext).digest();
  if (mac.length !== env.hmac.length || !timingSafeEqual(mac, env.hmac)) return undefined;
  const d = createDecipheriv("aes-256-ctr", key, iv);
  const padded = Buffer.concat([d.update(env.ciphertext), d.final()]);
  const pad = padded[padded.length - 1] ?? 0;
  if (pad < 1 || pad > 16 || pad > padded.length) return undefined;
  return padded.subarray(0, padded.length - pad);
}

/** The vault id named in a 1.2 envelope, if any. */
export function vaultIdOf(text: string): string | undefined {
  return parseEnvelope(text).vaultId;
}

/**
 * Decrypt with the first secret that fits: those whose id matches the
 * envelope's vault id first, then the others (as Ansible does by default;
 * with vault_id_match only the matching ones).
 */
export function decryptVault(text: string, secrets: VaultSecret[]): Buffer {
  const env = parseEnvelope(text);
  if (secrets.length === 0) throw new VaultError("vault-encrypted data found but no vault password was given: use --vault-password-file, --vault-id or --ask-vault-pass");
  // A 1.1 envelope names no id: Ansible takes it as "default" (the label of --vault-password-file).
  const id = env.vaultId ?? "default";
  const ordered = [...secrets.filter((s) => s.id === id), ...secrets.filter((s) => s.id !== id && !s.onlyMatchingId)];
  if (!ordered.length) {
    throw new VaultError(
      `vault decryption failed: vault_id_match is set and none of the ${secrets.length} vault password(s) given has the vault id of the data (${id}${env.vaultId ? "" : ": format 1.1 names none"}); check --vault-id`,
    );
  }
  for (const s of ordered) {
    const out = tryDecrypt(env, s.password);
    if (out) return out;
  }
  throw new VaultError(
    `vault decryption failed: none of the ${secrets.length} vault password(s) given fits${env.vaultId ? ` (vault id ${env.vaultId})` : ""}; check --vault-password-file / --vault-id`,
  );
}

/** Encrypt as ansible-vault does (format 1.1, or 1.2 with a vault id). For tests and tooling. */
export function encryptVault(plaintext: string | Buffer, password: string | Buffer, opts: { vaultId?: string; salt?: Buffer } = {}): string {
  const salt = opts.salt ?? randomBytes(32);
  const { key, hmacKey, iv } = deriveKeys(Buffer.from(password), salt);
  const data = Buffer.from(plaintext);
  const pad = 16 - (data.length % 16);
  const padded = Buffer.concat([data, Buffer.alloc(pad, pad)]);
  const c = createCipheriv("aes-256-ctr", key, iv);
  const ciphertext = Buffer.concat([c.update(padded), c.final()]);
  const mac = createHmac("sha256", hmacKey).update(ciphertext).digest();
  const inner = Buffer.from(`${salt.toString("hex")}\n${mac.toString("hex")}\n${ciphertext.toString("hex")}`).toString("hex");
  const header = opts.vaultId && opts.vaultId !== "default" ? `${VAULT_HEADER};1.2;AES256;${opts.vaultId}` : `${VAULT_HEADER};1.1;AES256`;
  const lines = inner.match(/.{1,80}/g) ?? [];
  return [header, ...lines].join("\n") + "\n";
}
