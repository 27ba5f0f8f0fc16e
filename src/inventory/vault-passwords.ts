// Vault passwords from --vault-password-file, --vault-id [label@]source and
// --ask-vault-pass. An executable password file is run and its output used,
// as Ansible does (in its own process group, with a time limit: see
// script-process.ts); a vault-id client script (NAME-client or
// NAME-client.EXT) is run with `--vault-id LABEL` and exits 2 when it has no
// secret for that id. Passwords stay in Buffers and are never printed.

import { accessSync, constants, readFileSync } from "node:fs";
import { basename, extname, resolve } from "node:path";
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

/** Ansible's script_is_client: the name without its extension ends in -client. */
export function isVaultClientScript(path: string): boolean {
  const name = basename(path);
  return name.slice(0, name.length - extname(name).length).endsWith("-client");
}

/** Exit status of a client script that has no secret for the vault id asked. */
const VAULT_ID_UNKNOWN = 2;

async function fromScript(path: string, id: string, label: string | undefined, timeoutMs: number): Promise<VaultSecret> {
  const client = isVaultClientScript(path);
  const what = `vault password ${client ? "client " : ""}script '${path}'`;
  let r;
  try {
    // Interactive: it may ask on the terminal (its stdin and stderr are postfleet's). Ansible
    // passes a client script the vault id's label (none for --vault-id FILE without a label).
    r = await runScript(path, client && label !== undefined ? ["--vault-id", label] : [], { timeoutMs, interactive: true, maxOutputBytes: 1024 * 1024 });
  } catch (e) {
    if (!(e instanceof ScriptFailure)) throw e;
    if (e.kind === "timeout") throw new InventoryError(`${what} did not finish within ${timeoutMs / 1000} s: stopped it and everything it started (SIGTERM, then SIGKILL)`, { file: path });
    if (e.kind === "output") throw new InventoryError(`${what} ${e.message}: a password is expected`, { file: path });
    throw new InventoryError(`cannot run ${what}: ${e.message}`, { file: path });
  }
  // Its output is the password: never part of a message.
  if (client && r.code === VAULT_ID_UNKNOWN) throw new InventoryError(`${what} did not find a secret for vault-id=${label ?? "(none)"}`, { file: path });
  if (r.code !== 0) throw new InventoryError(`${what} ${r.code !== null ? `exited with status ${r.code}` : `was killed by ${r.signal ?? "a signal"}`}`, { file: path });
  return { id, password: Buffer.from(stripBytes(r.stdout, "\r\n")) };
}

async function fromFile(path: string, id: string, label: string | undefined, timeoutMs: number): Promise<VaultSecret> {
  let executable = false;
  try {
    accessSync(path, constants.X_OK);
    executable = true;
  } catch {
    executable = false;
  }
  if (executable) return fromScript(path, id, label, timeoutMs);
  try {
    return { id, password: Buffer.from(stripBytes(readFileSync(path), WHITESPACE)) };
  } catch (e) {
    throw new InventoryError(`cannot read the vault password file: ${(e as Error).message.split("\n")[0]}`, { file: path });
  }
}

export async function collectVaultSecrets(
  o: { vaultPasswordFiles?: string[]; vaultIds?: string[]; askVaultPass?: boolean; vaultScriptTimeoutMs?: number; vaultIdMatch?: boolean; warn?: (msg: string) => void },
  cwd: string,
  prompt: PasswordPrompt,
): Promise<VaultSecret[]> {
  const timeoutMs = o.vaultScriptTimeoutMs ?? DEFAULT_VAULT_SCRIPT_TIMEOUT_MS;
  const secrets: VaultSecret[] = [];
  // As Ansible: a password file or script that fails is a warning while another source
  // gives a password (a client script without a secret for one id is normal), else the error.
  let failure: InventoryError | undefined;
  const fromSource = async (path: string, id: string, label: string | undefined): Promise<void> => {
    try {
      secrets.push(await fromFile(path, id, label, timeoutMs));
    } catch (e) {
      if (!(e instanceof InventoryError)) throw e;
      failure = e;
      o.warn?.(`Error in vault password file loading (${label ?? id}): ${e.message}`);
    }
  };
  for (const spec of o.vaultIds ?? []) {
    const at = spec.indexOf("@");
    const id = at >= 0 ? spec.slice(0, at) : "default";
    const source = at >= 0 ? spec.slice(at + 1) : spec;
    if (source === "prompt" || source === "prompt_ask_vault_pass") {
      secrets.push({ id, password: Buffer.from(await prompt(id === "default" ? "Vault password: " : `Vault password (${id}): `), "utf8") });
    } else await fromSource(resolve(cwd, source), id, at >= 0 ? id : undefined);
  }
  for (const f of o.vaultPasswordFiles ?? []) await fromSource(resolve(cwd, f), "default", "default");
  if (o.askVaultPass) secrets.push({ id: "default", password: Buffer.from(await prompt("Vault password: "), "utf8") });
  if (failure && !secrets.length) throw failure;
  if (o.vaultIdMatch) for (const s of secrets) s.onlyMatchingId = true;
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
