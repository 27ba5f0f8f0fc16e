// Shell quoting for the commands the differential suite runs in its lab
// containers: every scenario argument goes through shQuote, since scenarios
// deliberately include unsafe names (quotes, $(...), spaces, ;).

/** One POSIX shell word: single-quoted, embedded ' as '\''. */
export function shQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** A command line from argv words, each quoted. */
export function shJoin(words: readonly string[]): string {
  return words.map(shQuote).join(" ");
}

/** `env NAME=value ... ` prefix (empty when no variables), values quoted. */
export function envPrefix(env: Readonly<Record<string, string>> | undefined): string {
  const pairs = Object.entries(env ?? {});
  if (pairs.length === 0) return "";
  for (const [name] of pairs) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`bad environment variable name: ${name}`);
  }
  return `env ${pairs.map(([k, v]) => shQuote(`${k}=${v}`)).join(" ")} `;
}
