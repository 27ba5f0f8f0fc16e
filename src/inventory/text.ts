// Bytes to text for everything an inventory is read from (files, script
// output, vault plaintext): invalid UTF-8 is an error with its line and
// column, never a silent U+FFFD (which would merge two distinct host names).

import { isUtf8 } from "node:buffer";
import { InventoryError } from "./errors.js";

/** Offset of the first byte that does not start a valid UTF-8 sequence. */
function firstInvalidByte(buf: Uint8Array): number {
  let i = 0;
  while (i < buf.length) {
    const b = buf[i]!;
    let n: number;
    let min: number;
    if (b < 0x80) {
      i++;
      continue;
    } else if (b >= 0xc2 && b <= 0xdf) [n, min] = [1, 0x80];
    else if (b >= 0xe0 && b <= 0xef) [n, min] = [2, 0x800];
    else if (b >= 0xf0 && b <= 0xf4) [n, min] = [3, 0x10000];
    else return i;
    if (i + n >= buf.length) return i;
    let cp = b & (0x3f >> n);
    for (let k = 1; k <= n; k++) {
      const c = buf[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += n + 1;
  }
  return buf.length;
}

/** Where the first invalid UTF-8 sequence is (line and column from 1), or undefined when the bytes are valid. */
export function findInvalidUtf8(buf: Uint8Array): { line: number; column: number; byte: string } | undefined {
  if (isUtf8(buf)) return undefined;
  const at = firstInvalidByte(buf);
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < at; i++) {
    if (buf[i] === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  }
  const column = Buffer.from(buf.subarray(lineStart, at)).toString("utf8").length + 1;
  return { line, column, byte: `0x${(buf[at] ?? 0).toString(16).padStart(2, "0")}` };
}

/**
 * Decode UTF-8 strictly (a leading BOM is dropped). `what` says what the
 * bytes are ("the file", "the decrypted text of the file"); the error points
 * at `file`, line and column.
 */
export function decodeUtf8(buf: Uint8Array, file: string, what = "the file"): string {
  const bad = findInvalidUtf8(buf);
  if (bad) {
    throw new InventoryError(`${what} is not valid UTF-8 (byte ${bad.byte}): save it as UTF-8; postfleet does not guess, since two names differing only there would become one`, {
      file,
      line: bad.line,
      column: bad.column,
    });
  }
  const text = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).toString("utf8");
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}
