// Reading Postfix parameters through the host's own postconf(1), so that
// defaults and $name expansion are exactly Postfix's.
import { PostmultiFatal } from "../postmulti/messages.js";
import { readPostconf } from "./postconf-cache.js";
import { which, type Env } from "../system/process.js";

export interface PostconfOutput {
  values: Map<string, string>;
  exitCode: number;
  stderr: string;
}

/** Parse "name = value" lines (postconf's output format). */
export function parsePostconfLines(text: string): { values: Map<string, string>; bad: string | null } {
  const values = new Map<string, string>();
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const m = /^\s*([^=\s]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (!m) return { values, bad: line };
    values.set(m[1]!, m[2]!);
  }
  return { values, bad: null };
}

/** Locate postconf: $PATH first, then Postfix's usual command directory. */
export function findPostconf(env: Env): string {
  return which("postconf", env.PATH) ?? which("postconf", "/usr/sbin:/usr/local/sbin:/sbin") ?? "/usr/sbin/postconf";
}

export async function postconf(postconfPath: string, args: string[], env: Env): Promise<PostconfOutput> {
  const r = await readPostconf([postconfPath, ...args], { env, capture: true });
  if (r.spawnError) throw new PostmultiFatal(`execvp ${postconfPath}: ${r.spawnError.message}`, "internal");
  const { values } = parsePostconfLines(r.stdout);
  return { values, exitCode: r.exitCode, stderr: r.stderr };
}

/** Turn "postconf: fatal: X" into X, so it can be reported as postmulti's fatal. */
export function postconfFatalText(stderr: string): string | null {
  const m = /postconf: fatal: (.*)/.exec(stderr);
  return m ? m[1]!.trim() : null;
}

/** Split a Postfix list parameter (commas and white space; {...} groups kept). */
export function splitList(value: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < value.length) {
    const c = value[i]!;
    if (c === "," || /\s/.test(c)) {
      i++;
      continue;
    }
    if (c === "{") {
      let depth = 0;
      let j = i;
      for (; j < value.length; j++) {
        if (value[j] === "{") depth++;
        else if (value[j] === "}" && --depth === 0) break;
      }
      out.push(value.slice(i + 1, j).trim());
      i = j + 1;
      continue;
    }
    let j = i;
    while (j < value.length && value[j] !== "," && !/\s/.test(value[j]!)) j++;
    out.push(value.slice(i, j));
    i = j;
  }
  return out;
}
