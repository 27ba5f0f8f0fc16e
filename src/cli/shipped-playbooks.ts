// `postfleet run rolling-restart`: a name without a path finds a playbook
// shipped with postfleet (playbooks/NAME.yml in the package), so an
// `npm install -g` user can run the README's main command. A file of that
// name (as given) always wins.
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { packageRoot } from "../lab/engine.js";

/** The shipped playbooks' directory. */
export function shippedPlaybooksDir(root = packageRoot()): string {
  return join(root, "playbooks");
}

/** Names of the shipped playbooks (without .yml), sorted. */
export function shippedPlaybookNames(root = packageRoot()): string[] {
  const dir = shippedPlaybooksDir(root);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith(".yml"))
    .map((f) => f.slice(0, -".yml".length))
    .sort();
}

/**
 * The playbook file a `run` argument names: the path itself when it exists;
 * else, for a bare name (no slash), the shipped playbook NAME or NAME.yml;
 * else an error naming the shipped ones. A path with a slash is returned as
 * given (loading it then says it cannot be read).
 */
export function resolvePlaybookArg(arg: string, root = packageRoot()): string {
  if (existsSync(arg) || arg.includes("/")) return arg;
  const dir = shippedPlaybooksDir(root);
  for (const name of [arg, `${arg}.yml`]) {
    const p = join(dir, name);
    if (name.endsWith(".yml") && existsSync(p)) return p;
  }
  throw new Error(`no playbook file ${JSON.stringify(arg)}, and postfleet ships none of that name (shipped: ${shippedPlaybookNames(root).join(", ")})`);
}
