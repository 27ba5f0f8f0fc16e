// Vault passwords from --vault-password-file, --vault-id [label@]source and
// --ask-vault-pass. An executable password file is run and its output used,
// as Ansible does (in its own process group, with a time limit: see
// script-process.ts). Passwords stay in Buffers and are never printed.

import { accessSync, constants, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { PromptError, promptHidden } from "../shared/prompt.js";
import { InventoryError } from "./errors.js";
import { runScript, ScriptFailure } from "./script-process.js";
import type { VaultSecret } from "./vault.js";

export type PasswordPrompt = (prompt: string) => Promise<string>;

export const DEFAULT_VAULT_SCRIPT_TIMEOUT_MS = 60_000;

/** Python's bytes.strip(chars): a file's password is stripped of whitespace, a script's of CR and LF (as Ansible does). */
function stripBytes(b: Buffer, chars: string): Buffer {
  const strip = (c: number | undefined): boolean => c !== undefined && chars.includes(String.fromCharCode(c));
  let s = 0;
  let e = b.length;
  while (s < e && strip(b[s])) s++;
  while (e > s && strip(b[e - 1])) e--;
  return b.subarray(s, e);
}
const WHITESPACE = " \t\n\r\v\f";

async function fromScript(path: string, id: string, timeoutMs: number): Promise<VaultSecret> {
  const what = `vault password script '${path}'`;
  let r;
  try {
    // Interactive: it may ask on the terminal (its stdin and stderr are postfleet's).
    r = await runScript(path, [], { timeoutMs, interactive: true, maxOutputBytes: 1024 * 1024 });
  } catch (e) {
    if (!(e instanceof ScriptFailure)) throw e;
    if (e.kind === "timeout") throw new InventoryError(`${what} did not finish within ${timeoutMs / 1000} s: stopped it and everything it started (SIGTERM, then SIGKILL)`, { file: path });
    if (e.kind === "output") throw new InventoryError(`${what} ${e.message}: a password is expected`, { file: path });
    throw new InventoryError(`cannot run ${what}: ${e.message}`, { file: path });
  }
  // Its output is the password: never part of a message.
  if (r.code !== 0) throw new InventoryError(`${what} ${r.code !== null ? `exited with status ${r.code}` : `was killed by ${r.signal ?? "a signal"}`}`, { file: path });
  return { id, password: Buffer.from(stripBytes(r.stdout, "\r\n")) };
}

async function fromFile(path: string, id: string, timeoutMs: number): Promise<VaultSecret> {
  let executable = false;
  try {
    accessSync(path, constants.X_OK);
    executable = true;
  } catch {
    executable = false;
  }
  if (executable) return fromScript(path, id, timeoutMs);
  try {
    return { id, password: Buffer.from(stripBytes(readFileSync(path), WHITESPACE)) };
  } catch (e) {
    throw new InventoryError(`cannot read the vault password file: ${(e as Error).message.split("\n")[0]}`, { file: path });
  }
}

export async function collectVaultSecrets(
  o: { vaultPasswordFiles?: string[]; vaultIds?: string[]; askVaultPass?: boolean; vaultScriptTimeoutMs?: number },
  cwd: string,
  prompt: PasswordPrompt,
): Promise<VaultSecret[]> {
  const timeoutMs = o.vaultScriptTimeoutMs ?? DEFAULT_VAULT_SCRIPT_TIMEOUT_MS;
  const secrets: VaultSecret[] = [];
  for (const spec of o.vaultIds ?? []) {
    const at = spec.indexOf("@");
    const id = at >= 0 ? spec.slice(0, at) : "default";
    const source = at >= 0 ? spec.slice(at + 1) : spec;
    if (source === "prompt" || source === "prompt_ask_vault_pass") {
      secrets.push({ id, password: Buffer.from(await prompt(id === "default" ? "Vault password: " : `Vault password (${id}): `), "utf8") });
    } else secrets.push(await fromFile(resolve(cwd, source), id, timeoutMs));
  }
  for (const f of o.vaultPasswordFiles ?? []) secrets.push(await fromFile(resolve(cwd, f), "default", timeoutMs));
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
