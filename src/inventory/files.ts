// Reading inventory and vars files: whole-file vault encryption is undone
// here (the plaintext never leaves the parser), YAML/JSON parsed with lines.

import { readFileSync } from "node:fs";
import { InventoryError } from "./errors.js";
import { decryptVault, isVaultText, VaultError, type VaultSecret } from "./vault.js";
import { loadYaml, type LoadedData } from "./yaml-loader.js";

export function readText(file: string, secrets: VaultSecret[]): string {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new InventoryError(`cannot read: ${(e as Error).message}`, { file });
  }
  if (isVaultText(text)) {
    try {
      return decryptVault(text, secrets).toString("utf8");
    } catch (e) {
      if (e instanceof VaultError) throw new InventoryError(e.message, { file, line: 1 });
      throw e;
    }
  }
  return text.replace(/^\uFEFF/, "");
}

const cache = new Map<string, LoadedData>();

/** YAML/JSON data of a vars file (cached per load: files are read once). */
export function loadDataFile(file: string, secrets: VaultSecret[], memo: Map<string, LoadedData> = cache): LoadedData {
  const hit = memo.get(file);
  if (hit) return hit;
  const data = loadYaml(readText(file, secrets), file);
  memo.set(file, data);
  return data;
}
