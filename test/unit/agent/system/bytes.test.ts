import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { decodeEscaped, encodeEscaped, printable, trampoline } from "../../../../src/agent/system/bytes.js";

describe("arguments as bytes", () => {
  it("keeps invalid UTF-8 bytes and round-trips every byte", () => {
    const raw = Buffer.from([0x61, 0xff, 0x62, 0xc3, 0xa9, 0xe2, 0x82, 0x0a, 0xed, 0xa0, 0x80]);
    const s = decodeEscaped(raw);
    expect(s.startsWith("a\udcffbé")).toBe(true);
    expect(encodeEscaped(s).equals(raw)).toBe(true);
    expect(printable("postfix-\udcff")).toBe("postfix-?");
  });

  it("rebuilds the exact bytes in a child through the shell trampoline", () => {
    const arg = decodeEscaped(Buffer.from([0x61, 0xff, 0x0a, 0x0a]));
    const argv = trampoline(["printf", "%s", arg], false);
    const out = execFileSync(argv[0]!, argv.slice(1));
    expect(out.equals(Buffer.from([0x61, 0xff, 0x0a, 0x0a]))).toBe(true);
  });
});
