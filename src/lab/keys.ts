// Login keys for lab hosts, generated when a lab starts: no private key is
// ever committed. Written with mode 0600, as ssh insists.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import ssh2 from "ssh2";

export interface KeyPairFiles {
  privateKeyPath: string;
  publicKeyPath: string;
  /** One authorized_keys line: "ssh-ed25519 AAAA... comment". */
  publicKey: string;
}

type KeyType = "rsa" | "ecdsa" | "ed25519";
interface KeyOptions {
  bits?: number;
  comment?: string;
  cipher?: string;
  passphrase?: string;
  rounds?: number;
}

/**
 * ssh2's key generator, retried until the key reads back. About 1 ed25519
 * key in 256 comes out malformed (ssh2 1.17 writes a public key whose first
 * byte is 0 with 31 bytes), and neither ssh2 nor sshd will use it: a lab
 * started with one failed every host ("Malformed OpenSSH private key").
 */
export function generateUsableKeyPair(type: KeyType, options: KeyOptions = {}): { private: string; public: string } {
  for (let attempt = 1; ; attempt++) {
    // ssh2's overloads tie each key type to its own options; ours is the union.
    const pair = (ssh2.utils.generateKeyPairSync as (t: KeyType, o: KeyOptions) => { private: string; public: string })(type, options);
    const readBack = ssh2.utils.parseKey(pair.private, options.passphrase);
    if (!(readBack instanceof Error)) return pair;
    if (attempt >= 20) throw new Error(`cannot generate a usable ${type} key: ${readBack.message}`);
  }
}

export function generateLoginKey(dir: string, name = "id_ed25519", comment = "postfleet-lab"): KeyPairFiles {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const pair = generateUsableKeyPair("ed25519", { comment });
  const privateKeyPath = join(dir, name);
  const publicKeyPath = `${privateKeyPath}.pub`;
  writeFileSync(privateKeyPath, pair.private, { mode: 0o600 });
  writeFileSync(publicKeyPath, `${pair.public}\n`, { mode: 0o644 });
  return { privateKeyPath, publicKeyPath, publicKey: pair.public.trim() };
}
