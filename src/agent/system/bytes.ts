// Postfix handles arguments as bytes; Node decodes argv as UTF-8 and loses
// invalid bytes. The agent reads its raw arguments from /proc/self/cmdline
// and keeps every byte that is not valid UTF-8 as a lone surrogate
// U+DC80..U+DCFF ("surrogateescape"), so it can print it as postmulti does
// ('?') and pass it on to commands byte for byte.
import { readFileSync } from "node:fs";

const ESCAPED = /[\uDC80-\uDCFF]/;

/** Decode bytes as UTF-8, escaping each invalid byte as U+DC00+byte. */
export function decodeEscaped(b: Buffer): string {
  let out = "";
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    let n = 0;
    let min = 0;
    if (c < 0x80) n = 1;
    else if (c >= 0xc2 && c <= 0xdf) (n = 2), (min = 0x80);
    else if (c >= 0xe0 && c <= 0xef) (n = 3), (min = 0x800);
    else if (c >= 0xf0 && c <= 0xf4) (n = 4), (min = 0x10000);
    let cp = n === 1 ? c : n === 2 ? c & 0x1f : n === 3 ? c & 0x0f : c & 0x07;
    let ok = n > 0 && i + n <= b.length;
    for (let k = 1; ok && k < n; k++) {
      const cc = b[i + k]!;
      if ((cc & 0xc0) !== 0x80) ok = false;
      else cp = (cp << 6) | (cc & 0x3f);
    }
    if (ok && n > 1 && (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))) ok = false;
    if (ok) {
      out += String.fromCodePoint(cp);
      i += n;
    } else {
      out += String.fromCharCode(0xdc00 + c);
      i++;
    }
  }
  return out;
}

/** The program's arguments with invalid UTF-8 bytes kept (see above); process.argv elsewhere. */
export function rawArgs(): string[] {
  const fallback = process.argv.slice(2);
  try {
    const parts = readFileSync("/proc/self/cmdline").toString("latin1").split("\0");
    if (parts[parts.length - 1] === "") parts.pop();
    if (parts.length < fallback.length) return fallback;
    const tail = parts.slice(parts.length - fallback.length).map((p) => decodeEscaped(Buffer.from(p, "latin1")));
    // Trust /proc only where it agrees with Node's own decoding.
    for (let i = 0; i < tail.length; i++) {
      const mine = tail[i]!.replace(/[\uDC80-\uDCFF]+/g, "\uFFFD").replace(/\uFFFD+/g, "\uFFFD");
      if (mine !== fallback[i]!.replace(/\uFFFD+/g, "\uFFFD")) return fallback;
    }
    return tail;
  } catch {
    return fallback;
  }
}

export const hasEscapes = (s: string) => ESCAPED.test(s);

/** Bytes of an escaped string. */
export function encodeEscaped(s: string): Buffer {
  const parts: Buffer[] = [];
  let run = "";
  for (const ch of s) {
    const code = ch.charCodeAt(0);
    if (ch.length === 1 && code >= 0xdc80 && code <= 0xdcff) {
      if (run) parts.push(Buffer.from(run, "utf8"));
      run = "";
      parts.push(Buffer.from([code - 0xdc00]));
    } else run += ch;
  }
  if (run) parts.push(Buffer.from(run, "utf8"));
  return Buffer.concat(parts);
}

/**
 * Postfix's printable(), applied to every message it prints or logs: an
 * ASCII control character, or a byte that is not UTF-8, shows as '?'.
 */
export const printable = (s: string) => s.replace(/[\uDC80-\uDCFF\x00-\x1f\x7f]/g, "?");

/**
 * A /bin/sh script that rebuilds argv from octal escapes (ASCII only) and
 * execs it: the only way to give a child bytes that are not UTF-8.
 */
export function trampoline(argv: string[], keepPwd: boolean): string[] {
  const lines = argv.map((a, i) => {
    const oct = [...encodeEscaped(a)].map((b) => `\\${b.toString(8).padStart(3, "0")}`).join("");
    return `a${i}=$(printf '${oct}x'); a${i}=\${a${i}%x}`;
  });
  const args = argv.map((_, i) => `"$a${i}"`).join(" ");
  return ["/bin/sh", "-c", `${lines.join("; ")}; ${keepPwd ? "" : "unset PWD; "}exec ${args}`];
}
