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

export function generateLoginKey(dir: string, name = "id_ed25519", comment = "postfleet-lab"): KeyPairFiles {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const pair = ssh2.utils.generateKeyPairSync("ed25519", { comment });
  const privateKeyPath = join(dir, name);
  const publicKeyPath = `${privateKeyPath}.pub`;
  writeFileSync(privateKeyPath, pair.private, { mode: 0o600 });
  writeFileSync(publicKeyPath, `${pair.public}\n`, { mode: 0o644 });
  return { privateKeyPath, publicKeyPath, publicKey: pair.public.trim() };
}
