// Command lines for the differential suite's lab containers: every scenario
// argument goes through postfleet's own shellQuote (src/transport/shell.ts),
// since scenarios deliberately include unsafe names (quotes, $(...), spaces, ;).
import { shellQuote } from "../../../src/transport/shell.js";

/** A command line from argv words, each quoted. */
export function shJoin(words: readonly string[]): string {
  return words.map((w) => shellQuote(w)).join(" ");
}

/** `env NAME=value ... ` prefix (empty when no variables), values quoted. */
export function envPrefix(env: Readonly<Record<string, string>> | undefined): string {
  const pairs = Object.entries(env ?? {});
  if (pairs.length === 0) return "";
  for (const [name] of pairs) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`bad environment variable name: ${name}`);
  }
  return `env ${pairs.map(([k, v]) => shellQuote(`${k}=${v}`)).join(" ")} `;
}
