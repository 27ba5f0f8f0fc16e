// Reading inventory and vars files: whole-file vault encryption is undone
// here (the plaintext never leaves the parser), YAML/JSON parsed with lines.

import { readFileSync } from "node:fs";
import { InventoryError } from "./errors.js";
import { DEFAULT_LIMITS, type InventoryLimits } from "./limits.js";
import { decodeUtf8 } from "./text.js";
import { decryptVault, isVaultText, VaultError, type VaultSecret } from "./vault.js";
import { loadYaml, type LoadedData } from "./yaml-loader.js";

/** A file's text, decrypted when it is vault-encrypted as a whole; invalid UTF-8 is an error with file:line. */
export function readText(file: string, secrets: VaultSecret[]): string {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new InventoryError(`cannot read: ${(e as Error).message}`, { file });
  }
  const head = bytes.subarray(0, 64).toString("latin1");
  if (isVaultText(head)) {
    let plain: Buffer;
    try {
      plain = decryptVault(decodeUtf8(bytes, file), secrets);
    } catch (e) {
      if (e instanceof VaultError) throw new InventoryError(e.message, { file, line: 1 });
      throw e;
    }
    return decodeUtf8(plain, file, "the decrypted text of the file");
  }
  return decodeUtf8(bytes, file);
}

const cache = new Map<string, LoadedData>();

/** YAML/JSON data of a vars file (cached per load: files are read once). */
export function loadDataFile(file: string, secrets: VaultSecret[], memo: Map<string, LoadedData> = cache, limits: InventoryLimits = DEFAULT_LIMITS): LoadedData {
  const hit = memo.get(file);
  if (hit) return hit;
  const data = loadYaml(readText(file, secrets), file, limits);
  memo.set(file, data);
  return data;
}
