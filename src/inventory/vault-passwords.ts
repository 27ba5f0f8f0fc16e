// Vault passwords from --vault-password-file, --vault-id [label@]source and
// --ask-vault-pass. An executable password file is run and its output used,
// as Ansible does. Passwords stay in Buffers and are never printed.

import { execFileSync } from "node:child_process";
import { accessSync, constants, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { PromptError, promptHidden } from "../shared/prompt.js";
import { InventoryError } from "./errors.js";
import type { VaultSecret } from "./vault.js";

export type PasswordPrompt = (prompt: string) => Promise<string>;

function fromFile(path: string, id: string): VaultSecret {
  let executable = false;
  try {
    accessSync(path, constants.X_OK);
    executable = true;
  } catch {
    executable = false;
  }
  try {
    if (executable) {
      const out = execFileSync(path, [], { stdio: ["inherit", "pipe", "inherit"], timeout: 60_000 });
      return { id, password: Buffer.from(out.toString("utf8").replace(/[\r\n]+$/, ""), "utf8") };
    }
    return { id, password: Buffer.from(readFileSync(path, "utf8").trim(), "utf8") };
  } catch (e) {
    throw new InventoryError(`cannot read the vault password ${executable ? "script" : "file"}: ${(e as Error).message.split("\n")[0]}`, { file: path });
  }
}

export async function collectVaultSecrets(
  o: { vaultPasswordFiles?: string[]; vaultIds?: string[]; askVaultPass?: boolean },
  cwd: string,
  prompt: PasswordPrompt,
): Promise<VaultSecret[]> {
  const secrets: VaultSecret[] = [];
  for (const spec of o.vaultIds ?? []) {
    const at = spec.indexOf("@");
    const id = at >= 0 ? spec.slice(0, at) : "default";
    const source = at >= 0 ? spec.slice(at + 1) : spec;
    if (source === "prompt" || source === "prompt_ask_vault_pass") {
      secrets.push({ id, password: Buffer.from(await prompt(id === "default" ? "Vault password: " : `Vault password (${id}): `), "utf8") });
    } else secrets.push(fromFile(resolve(cwd, source), id));
  }
  for (const f of o.vaultPasswordFiles ?? []) secrets.push(fromFile(resolve(cwd, f), "default"));
  if (o.askVaultPass) secrets.push({ id: "default", password: Buffer.from(await prompt("Vault password: "), "utf8") });
  return secrets;
}

/** Read a password from the terminal without echo (the shared prompt; its failures as InventoryError). */
export async function promptOnTty(prompt: string): Promise<string> {
  try {
    return await promptHidden(prompt);
  } catch (e) {
    if (e instanceof PromptError) {
      throw new InventoryError(e.reason === "no-terminal" ? "--ask-vault-pass needs a terminal: use --vault-password-file in scripts" : "interrupted");
    }
    throw e;
  }
}
