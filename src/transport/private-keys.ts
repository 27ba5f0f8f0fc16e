// Private keys for authentication: loaded once per run (cached by path),
// encrypted keys decrypted with POSTFLEET_SSH_KEY_PASSPHRASE or a passphrase
// typed on the terminal. Passphrases are never logged nor put in errors.
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import ssh2, { type ParsedKey } from "ssh2";
import { PromptError, promptHidden } from "../shared/prompt.js";
import { AuthError } from "./errors.js";

export const PASSPHRASE_ENV = "POSTFLEET_SSH_KEY_PASSPHRASE";

/** Asks for a key's passphrase; returns undefined when nobody can answer. */
export type PassphraseSource = (keyFile: string) => Promise<string | undefined>;

export function defaultKeyFiles(home = homedir()): string[] {
  return ["id_ed25519", "id_ecdsa", "id_rsa"].map((k) => join(home, ".ssh", k));
}

/** Environment variable first, then (only on a terminal) a prompt without echo. */
export const defaultPassphraseSource: PassphraseSource = async (keyFile) => {
  const env = process.env[PASSPHRASE_ENV];
  if (env !== undefined) return env;
  if (!process.stdin.isTTY || !process.stderr.isTTY) return undefined;
  // ^C / ^D: give up on this key (it is then reported as having no passphrase).
  return promptHidden(`Enter passphrase for key '${keyFile}': `).catch((e: unknown) => {
    if (e instanceof PromptError) return undefined;
    throw e;
  });
};

export interface LoadedKey {
  file: string;
  key: ParsedKey;
}

/** Loads and caches keys; one instance per run so a passphrase is asked at most once per key. */
export class KeyStore {
  private readonly cache = new Map<string, Promise<LoadedKey | null>>();
  constructor(private readonly passphrase: PassphraseSource = defaultPassphraseSource) {}

  /**
   * The parsed key, or null when the file does not exist. `required`: an
   * unusable key (bad passphrase, none available, not a key) throws AuthError;
   * otherwise it is skipped (null) like OpenSSH skips default keys it cannot use.
   */
  load(file: string, hostLabel: string, required: boolean): Promise<LoadedKey | null> {
    let p = this.cache.get(file);
    if (!p) {
      p = this.loadUncached(file, hostLabel);
      this.cache.set(file, p);
    }
    return p.catch((e: unknown) => {
      if (required) throw e;
      return null;
    });
  }

  private async loadUncached(file: string, hostLabel: string): Promise<LoadedKey | null> {
    if (!existsSync(file)) return null;
    let data: Buffer;
    try {
      data = readFileSync(file);
    } catch (e) {
      throw new AuthError(hostLabel, `cannot read private key ${file}: ${(e as Error).message}`);
    }
    let parsed = ssh2.utils.parseKey(data);
    if (parsed instanceof Error && /encrypt|passphrase/i.test(parsed.message)) {
      const pass = await this.passphrase(file);
      if (pass === undefined) {
        throw new AuthError(
          hostLabel,
          `private key ${file} is encrypted and no passphrase is available: set ${PASSPHRASE_ENV} or run on a terminal`,
        );
      }
      parsed = ssh2.utils.parseKey(data, pass);
      if (parsed instanceof Error) {
        throw new AuthError(hostLabel, `cannot decrypt private key ${file}: wrong passphrase (from ${process.env[PASSPHRASE_ENV] !== undefined ? PASSPHRASE_ENV : "the prompt"})`);
      }
    }
    if (parsed instanceof Error) throw new AuthError(hostLabel, `${file} is not a usable private key: ${parsed.message}`);
    const key = Array.isArray(parsed) ? parsed[0] : parsed;
    if (!key) throw new AuthError(hostLabel, `${file} holds no private key`);
    return { file, key };
  }
}
