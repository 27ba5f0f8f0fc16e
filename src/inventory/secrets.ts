// Which inventory variables hold secrets, and which environment variables of
// postfleet's own carry one: their values never appear in an error message,
// and scripts postfleet runs never see them.

/** ansible_password, ansible_ssh_pass, ansible_become_password, ansible_become_pass, ansible_sudo_pass, ... */
const SECRET_VAR = /^ansible_(?:[a-z0-9]+_)*?pass(?:word|wd|phrase)?$/i;
const SECRET_VAR_IN_TEXT = /\bansible_(?:[a-z0-9]+_)*?pass(?:word|wd|phrase)?\b/i;

export function isSecretVar(name: string): boolean {
  return SECRET_VAR.test(name);
}

/** True when a line of inventory text sets (or names) a secret variable: an error must not echo it. */
export function mentionsSecret(text: string): boolean {
  return SECRET_VAR_IN_TEXT.test(text);
}

/** postfleet's own secrets in the environment (the SSH key passphrase, ...): never passed to scripts. */
const SECRET_ENV = /^POSTFLEET_\w*(?:PASS|SECRET|TOKEN)/i;

/** The environment for a script postfleet runs: its own, minus postfleet's secrets. */
export function scriptEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && !SECRET_ENV.test(k)) out[k] = v;
  return out;
}
