// Host addresses and host ranges as Ansible reads them in inventories:
// parse_address (host[:port], [v6]:port, ranges allowed) and the expansion of
// `mx[01:20]`, `mx[a:f]`, `mx[1:9:2]` (several ranges per name allowed).

const numericRange = String.raw`\[(?:[0-9]+:[0-9]+)(?::[0-9]+)?\]`;
const hexRange = String.raw`\[(?:[0-9a-f]+:[0-9a-f]+)(?::[0-9]+)?\]`;
const alnumRange = String.raw`\[(?:[a-z]:[a-z]|[0-9]+:[0-9]+)(?::[0-9]+)?\]`;
const v6c = String.raw`(?:[0-9a-f]{1,4}|${hexRange})`;
const v4c = String.raw`(?:[01]?[0-9]{1,2}|2[0-4][0-9]|25[0-5]|${numericRange})`;
const word = String.raw`[\p{L}\p{N}_\p{Mn}\p{Pc}]`;
const label = String.raw`(?:${word}|${alnumRange})(?:${word}|[_-]|${alnumRange})*(?<![_-])`;

const BRACKETED_HOSTPORT = /^\[(.+)\]:([0-9]+)$/;
const HOSTPORT = /^((?:[^:[\]]|\[[^\]]*\])*):([0-9]+)$/;
const IPV4 = new RegExp(`^(?:${v4c}\\.){3}${v4c}$`, "i");
const IPV6 = new RegExp(
  "^(?:" +
    [
      `(?:${v6c}:){7}${v6c}`,
      `(?:${v6c}:){1,6}:`,
      `(?:${v6c}:)(?::${v6c}){1,6}`,
      `(?:${v6c}:){2}(?::${v6c}){1,5}`,
      `(?:${v6c}:){3}(?::${v6c}){1,4}`,
      `(?:${v6c}:){4}(?::${v6c}){1,3}`,
      `(?:${v6c}:){5}(?::${v6c}){1,2}`,
      `(?:${v6c}:){6}(?::${v6c})`,
      `:(?::${v6c}){1,6}`,
      `${v6c}?::`,
      `(?:0:){6}(?:${v6c}\\.){3}${v6c}`,
      `::(?:ffff:)?(?:${v6c}\\.){3}${v6c}`,
      `(?:0:){5}ffff:(?:${v6c}\\.){3}${v6c}`,
    ].join("|") +
    ")$",
  "i",
);
const HOSTNAME = new RegExp(`^${label}(?:\\.${label})*$`, "iu");

/** Ansible's parse_address(address, allow_ranges=true); undefined when not an address. */
export function parseAddress(address: string): { host: string; port?: number } | undefined {
  let addr = address;
  let port: number | undefined;
  for (const re of [BRACKETED_HOSTPORT, HOSTPORT]) {
    const m = re.exec(addr);
    if (m) {
      addr = m[1]!;
      port = parseInt(m[2]!, 10);
    }
  }
  if (IPV4.test(addr) || IPV6.test(addr) || HOSTNAME.test(addr)) return port === undefined ? { host: addr } : { host: addr, port };
  return undefined;
}

const LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/** The values of one `[begin:end(:step)]` range, or an Error with the reason. */
function rangeValues(nrange: string, max: number, line: string): string[] {
  const bounds = nrange.split(":");
  if (bounds.length !== 2 && bounds.length !== 3) throw new Error(`host range [${nrange}] must be begin:end or begin:end:step`);
  let beg = bounds[0]!;
  const end = bounds[1]!;
  const stepText = bounds[2] ?? "1";
  if (!beg) beg = "0";
  if (!end) throw new Error(`host range [${nrange}] must specify an end value`);
  let fill = (x: string | number): string => String(x);
  if (beg[0] === "0" && beg.length > 1) {
    const rlen = beg.length;
    if (rlen !== end.length) throw new Error(`host range [${nrange}] must use equal-length begin and end (${beg} and ${end})`);
    fill = (x) => String(x).padStart(rlen, "0");
  }
  if (!/^[0-9]+$/.test(stepText) || parseInt(stepText, 10) === 0) throw new Error(`host range [${nrange}] has an invalid step '${stepText}'`);
  const step = parseInt(stepText, 10);
  const ib = beg.length === 1 ? LETTERS.indexOf(beg) : -1;
  const ie = end.length === 1 ? LETTERS.indexOf(end) : -1;
  const out: string[] = [];
  if (ib >= 0 && ie >= 0) {
    if (ib > ie) throw new Error(`host range [${nrange}] must have begin <= end`);
    for (let k = ib; k <= ie; k += step) out.push(LETTERS[k]!);
    return out;
  }
  if (!/^[0-9]+$/.test(beg) || !/^[0-9]+$/.test(end)) throw new Error(`host range [${nrange}] must be numeric (01:20) or single letters (a:f)`);
  const b = parseInt(beg, 10);
  const e = parseInt(end, 10);
  const size = e < b ? 0 : Math.floor((e - b) / step) + 1;
  if (size > max) throw new RangeTooLarge(line, size, max);
  for (let k = b; k <= e; k += step) out.push(fill(k));
  return out;
}

/** A host pattern whose ranges make more names than allowed (checked before any is made). */
export class RangeTooLarge extends Error {
  constructor(line: string, size: number, max: number) {
    const n = (x: number): string => (Number.isSafeInteger(x) ? x.toLocaleString("en-US") : "more than 2^53");
    super(`host range in '${line}' makes ${n(size)} host names; postfleet allows ${n(max)} per line (a typo in the range?): split a real fleet over several lines`);
  }
}

/**
 * Expand every [begin:end(:step)] range in a host name; throws Error with the
 * reason. More than `max` names is an error raised before any name is made.
 */
export function expandHostnameRange(line: string, max = Number.POSITIVE_INFINITY): string[] {
  // The name as literal text and ranges, left to right (as Ansible's recursion on the first range sees it).
  const parts: (string | string[])[] = [];
  let rest = line;
  let total = 1;
  for (;;) {
    const open = rest.indexOf("[");
    const close = rest.indexOf("]");
    if (open < 0) {
      parts.push(rest);
      break;
    }
    if (close < 0 || close < open) throw new Error(`host range in '${line}' is not closed: write name[begin:end] or name[begin:end:step]`);
    parts.push(rest.slice(0, open));
    const values = rangeValues(rest.slice(open + 1, close), max, line);
    total *= values.length;
    if (total > max) throw new RangeTooLarge(line, total, max);
    parts.push(values);
    rest = rest.slice(close + 1);
  }
  let names = [""];
  for (const p of parts) {
    if (typeof p === "string") names = names.map((n) => n + p);
    else {
      const next: string[] = [];
      for (const n of names) for (const v of p) next.push(n + v);
      names = next;
    }
  }
  return names;
}

/** A host key from an inventory: names (ranges expanded, at most `max`) and an optional port. */
export function expandHostPattern(hostpattern: string, max = Number.POSITIVE_INFINITY): { names: string[]; port?: number } {
  const parsed = parseAddress(hostpattern);
  const pattern = parsed ? parsed.host : hostpattern;
  const names = pattern.includes("[") ? expandHostnameRange(pattern, max) : [pattern];
  return parsed?.port !== undefined ? { names, port: parsed.port } : { names };
}
