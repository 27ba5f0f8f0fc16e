// TOML written as `ansible-inventory --toml` writes it: Ansible 2.14 hands
// its dictionaries to the Python `toml` library (0.10), whose encoder this
// follows, quirks included: keys in insertion order, a [table] header only
// for tables with values of their own (or none at all), tables written level
// by level, arrays as `[ 1, 2,]`, None values left out, a mapping inside an
// array written as the list of its keys, strings from Python's repr().

import { InventoryError } from "./errors.js";
import { pyFloatRepr, pyStrRepr } from "./python-repr.js";
import { UnsafeText, VaultedString } from "./vault.js";

/** A table: a Map keeps keys such as "10" in their place (a plain object puts integer-like keys first). */
export type Dict = Record<string, unknown> | Map<string, unknown>;

function isDict(v: unknown): v is Dict {
  return v !== null && typeof v === "object" && !Array.isArray(v) && !(v instanceof VaultedString) && !(v instanceof UnsafeText);
}

function entries(d: Dict): [string, unknown][] {
  return d instanceof Map ? [...d] : Object.entries(d);
}

/** toml's _dump_str: Python's repr, re-quoted with double quotes, \x escapes turned into \u00 (and its handling of backslashes before them). */
export function tomlString(s: string): string {
  let v = pyStrRepr(s);
  const single = v.startsWith("'");
  v = v.slice(1, -1);
  if (single) v = v.replace(/\\'/g, "'").replace(/"/g, '\\"');
  let parts = v.split("\\x");
  while (parts.length > 1) {
    if (!parts[0]) parts = parts.slice(1);
    parts[0] = parts[0]!.replace(/\\\\/g, "\\");
    const first = parts[0];
    let i = first.length - 1;
    let joinx = first[i] !== "\\";
    while (i > 0 && first[i] === "\\") {
      joinx = !joinx;
      i--;
    }
    parts = [first + (joinx ? "x" : "u00") + (parts[1] ?? ""), ...parts.slice(2)];
  }
  return `"${parts[0]}"`;
}

/** toml's "{}".format(float) with its exponent clean-up. */
function tomlFloat(n: number): string {
  return pyFloatRepr(n).replace("e+0", "e+").replace("e-0", "e-");
}

export class TomlEncoder {
  constructor(private readonly reveal: (v: VaultedString) => string) {}

  value(v: unknown): string {
    if (typeof v === "string") return tomlString(v);
    if (v instanceof UnsafeText) return tomlString(v.text);
    if (typeof v === "boolean") return v ? "true" : "false";
    if (typeof v === "number") return Number.isInteger(v) && Math.abs(v) < 1e21 ? String(v) : tomlFloat(v);
    // Iterables are written as lists: a vault value's characters (Ansible decrypts it), a mapping's keys.
    if (v instanceof VaultedString) return this.list(Array.from(this.reveal(v)));
    if (Array.isArray(v)) return this.list(v);
    if (isDict(v)) return this.list(entries(v).map(([k]) => k));
    return tomlString("None");
  }

  private list(v: unknown[]): string {
    return "[" + v.map((u) => ` ${this.value(u)},`).join("") + "]";
  }

  sections(o: unknown, supIn: string): [string, Map<string, unknown>] {
    if (!isDict(o)) {
      throw new InventoryError(`The source inventory contains a value that cannot be represented in TOML: a list mixes tables with ${o === null ? "None" : typeof o} values`);
    }
    let retstr = "";
    const sup = supIn !== "" && !supIn.endsWith(".") ? supIn + "." : supIn;
    const retdict = new Map<string, unknown>();
    let arraystr = "";
    for (const [section, value] of entries(o)) {
      const q = /^[A-Za-z0-9_-]+\n?$/.test(section) ? section : tomlString(section);
      if (!isDict(value)) {
        if (Array.isArray(value) && value.some(isDict)) {
          for (const a of value) {
            let arraytabstr = "\n";
            arraystr += `[[${sup}${q}]]\n`;
            const [s, d0] = this.sections(a, sup + q);
            if (s) {
              if (s[0] === "[") arraytabstr += s;
              else arraystr += s;
            }
            let d = d0;
            while (d.size) {
              const newd = new Map<string, unknown>();
              for (const [dsec, dv] of d) {
                const [s1, d1] = this.sections(dv, `${sup}${q}.${dsec}`);
                if (s1) arraytabstr += `[${sup}${q}.${dsec}]\n` + s1;
                for (const [k1, v1] of d1) newd.set(`${dsec}.${k1}`, v1);
              }
              d = newd;
            }
            arraystr += arraytabstr;
          }
        } else if (value !== null && value !== undefined) retstr += `${q} = ${this.value(value)}\n`;
      } else retdict.set(q, value);
    }
    return [retstr + arraystr, retdict];
  }

  dumps(o: Dict): string {
    let [retval, sections] = this.sections(o, "");
    while (sections.size) {
      const next = new Map<string, unknown>();
      for (const [name, sec] of sections) {
        const [add, sub] = this.sections(sec, name);
        if (add || sub.size === 0) {
          if (retval && retval.slice(-2) !== "\n\n") retval += "\n";
          retval += `[${name}]\n` + add;
        }
        for (const [k, v] of sub) next.set(`${name}.${k}`, v);
      }
      sections = next;
    }
    return retval;
  }
}

/** toml.dumps(value) as Ansible calls it; vault values need `reveal` (Ansible decrypts them). */
export function tomlDumps(value: Dict, reveal: (v: VaultedString) => string): string {
  return new TomlEncoder(reveal).dumps(value);
}
