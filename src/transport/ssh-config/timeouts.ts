// ConnectTimeout: OpenSSH's time format, and the bound postfleet applies.
/** postfleet's longest connect timeout, in seconds (the most ansible_timeout may say). */
export const MAX_CONNECT_TIMEOUT_S = 86_400;

/**
 * ConnectTimeout (seconds) as postfleet applies it: ssh reads 0 as no timeout
 * at all, but a fleet run needs a bound, so 0 and longer values wait
 * MAX_CONNECT_TIMEOUT_S (also within what a Node timer can hold).
 */
export function connectTimeoutMsOf(seconds: number): number {
  return (seconds === 0 || seconds > MAX_CONNECT_TIMEOUT_S ? MAX_CONNECT_TIMEOUT_S : seconds) * 1000;
}

/** OpenSSH's convtime(): 90, 90s, 1m30s, 2h, 1d, 1w; -1 when invalid. */
export function parseTimeSpec(s: string): number {
  if (s === "") return -1;
  let total = 0;
  const re = /(\d+)([sSmMhHdDwW]?)/y;
  let i = 0;
  while (i < s.length) {
    re.lastIndex = i;
    const m = re.exec(s);
    if (!m) return -1;
    const unit = { "": 1, s: 1, m: 60, h: 3600, d: 86400, w: 604800 }[m[2]!.toLowerCase()]!;
    total += Number(m[1]) * unit;
    if (total > 2 ** 31 - 1) return -1;
    i = re.lastIndex;
  }
  return total;
}
