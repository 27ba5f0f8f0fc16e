// A compact list of host names for folded output: runs of names that differ
// only in a number of the same width become one range in Ansible's syntax
// (mta001..mta480 → mta[001:480]); several ranges and single names are
// comma-separated, and the list is cut with "and N more" past a bound.

interface Parsed {
  name: string;
  prefix: string;
  digits: string;
  suffix: string;
}

/** The name split around its last run of digits (no digits: all prefix). */
function parse(name: string): Parsed {
  const m = /^(.*?)(\d+)(\D*)$/.exec(name);
  return m ? { name, prefix: m[1]!, digits: m[2]!, suffix: m[3]! } : { name, prefix: name, digits: "", suffix: "" };
}

const collator = new Intl.Collator("en", { numeric: true });

/** One item of the list: a range (3 or more consecutive names) or a single name; `count` names it covers. */
interface Item {
  text: string;
  count: number;
  sortKey: Parsed;
}

function itemsOf(names: readonly string[]): Item[] {
  const groups = new Map<string, Parsed[]>();
  for (const p of [...new Set(names)].map(parse)) {
    // Names are only folded with names of the same prefix, suffix and digit width.
    const key = JSON.stringify([p.prefix, p.suffix, p.digits.length]);
    const g = groups.get(key);
    if (g) g.push(p);
    else groups.set(key, [p]);
  }
  const items: Item[] = [];
  for (const g of groups.values()) {
    g.sort((a, b) => Number(a.digits) - Number(b.digits));
    for (let i = 0; i < g.length; ) {
      let j = i;
      while (j + 1 < g.length && g[j]!.digits !== "" && Number(g[j + 1]!.digits) === Number(g[j]!.digits) + 1) j++;
      const first = g[i]!;
      if (j - i + 1 >= 3) {
        items.push({ text: `${first.prefix}[${first.digits}:${g[j]!.digits}]${first.suffix}`, count: j - i + 1, sortKey: first });
      } else {
        for (let k = i; k <= j; k++) items.push({ text: g[k]!.name, count: 1, sortKey: g[k]! });
      }
      i = j + 1;
    }
  }
  return items.sort(
    (a, b) =>
      collator.compare(a.sortKey.prefix, b.sortKey.prefix) ||
      a.sortKey.digits.length - b.sortKey.digits.length ||
      Number(a.sortKey.digits || 0) - Number(b.sortKey.digits || 0) ||
      collator.compare(a.sortKey.suffix, b.sortKey.suffix),
  );
}

/** `mta[001:480], mx01, relay` for the given names (any order, duplicates ignored); past `maxItems` items: "…, and N more". */
export function compactHostList(names: readonly string[], maxItems = 8): string {
  const items = itemsOf(names);
  if (items.length <= maxItems) return items.map((i) => i.text).join(", ");
  const shown = items.slice(0, maxItems);
  const more = items.slice(maxItems).reduce((n, i) => n + i.count, 0);
  return `${shown.map((i) => i.text).join(", ")} and ${more} more`;
}
