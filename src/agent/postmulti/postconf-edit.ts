// Dry run of `postmulti -x postconf -e name=value ...` / `-X name ...`: which
// main.cf parameters the command would set or remove, so the plan can show
// each one's current and new value instead of an opaque "run".
import type { Effect } from "../../protocol/index.js";
import { spawnCommand } from "../system/spawn-command.js";
import type { Env } from "../system/process.js";

export interface PostconfEdit {
  /** -c DIR, else null (the instance's MAIL_CONFIG). */
  configDir: string | null;
  /** name → new value (-e) or null (-X: removed). */
  settings: Array<[name: string, value: string | null]>;
}

/**
 * Recognise exactly `postconf [-c DIR] -e name=value...` or
 * `postconf [-c DIR] -X name...` (options in any order before the operands).
 * Anything else (other options, another program, a path to postconf) is null.
 */
export function parsePostconfEdit(argv: readonly string[]): PostconfEdit | null {
  if (argv[0] !== "postconf") return null;
  let configDir: string | null = null;
  let mode: "-e" | "-X" | null = null;
  let i = 1;
  for (; i < argv.length && argv[i]!.startsWith("-"); i++) {
    const a = argv[i]!;
    if (a === "-e" || a === "-X") {
      if (mode !== null && mode !== a) return null;
      mode = a;
    } else if (a === "-c" && i + 1 < argv.length && configDir === null) configDir = argv[++i]!;
    else return null;
  }
  const operands = argv.slice(i);
  if (mode === null || operands.length === 0) return null;
  const settings: PostconfEdit["settings"] = [];
  for (const op of operands) {
    if (mode === "-X") {
      if (!/^[^=\s]+$/.test(op)) return null;
      settings.push([op, null]);
    } else {
      // postconf -e takes "name = value" with white space around '=' too.
      const m = /^\s*([^=\s]+)\s*=\s*(.*?)\s*$/s.exec(op);
      if (!m) return null;
      settings.push([m[1]!, m[2]!]);
    }
  }
  return { configDir, settings };
}

/** set-parameter effects of `edit` on config directory `dir`, with each parameter's value in main.cf now (null: not set). */
export async function postconfEditEffects(postconfPath: string, dir: string, edit: PostconfEdit, env: Env, signal?: AbortSignal): Promise<Effect[]> {
  const out: Effect[] = [];
  for (const [name, to] of edit.settings) {
    // -n: only what main.cf sets, so "from" is null for a parameter at its default.
    const r = await spawnCommand([postconfPath, "-c", dir, "-n", "-h", name], { env, capture: true, signal });
    const from = r.exitCode === 0 && r.stdout !== "" ? r.stdout.replace(/\n$/, "") : null;
    out.push({ kind: "set-parameter", file: `${dir}/main.cf`, name, from, to });
  }
  return out;
}
