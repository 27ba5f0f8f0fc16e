// OpenSSH's match.c: the wildcard patterns and pattern lists of Host and Match lines.
/** OpenSSH's match_pattern: `*` and `?` wildcards, case-sensitive, whole string. */
export function matchPattern(s: string, pattern: string): boolean {
  let si = 0;
  let pi = 0;
  let starP = -1;
  let starS = 0;
  while (si < s.length) {
    if (pi < pattern.length && (pattern[pi] === "?" || pattern[pi] === s[si])) {
      si++;
      pi++;
    } else if (pi < pattern.length && pattern[pi] === "*") {
      starP = pi++;
      starS = si;
    } else if (starP >= 0) {
      pi = starP + 1;
      si = ++starS;
    } else return false;
  }
  while (pi < pattern.length && pattern[pi] === "*") pi++;
  return pi === pattern.length;
}

/** OpenSSH's match_pattern_list: comma-separated, `!` negates; 1 positive, -1 negated match, 0 none. */
export function matchPatternList(s: string, list: string, lowercasePatterns: boolean): -1 | 0 | 1 {
  let positive = false;
  for (let sub of list.split(",")) {
    const negated = sub.startsWith("!");
    if (negated) sub = sub.slice(1);
    if (sub.length >= 1023) return 0;
    if (lowercasePatterns) sub = sub.toLowerCase();
    if (matchPattern(s, sub)) {
      if (negated) return -1;
      positive = true;
    }
  }
  return positive ? 1 : 0;
}

export function matchHostname(host: string, list: string): boolean {
  return matchPatternList(host.toLowerCase(), list, true) === 1;
}
