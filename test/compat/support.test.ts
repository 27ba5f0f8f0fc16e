// The suite's own pure parts: quoting (checked against the real /bin/sh),
// and that each normalization hides only what it documents.
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { mailLogLines, normalizeText } from "../support/compat/scenario.js";
import { shellQuote } from "../../src/transport/shell.js";
import { envPrefix, shJoin } from "../support/compat/shell.js";
import { canonicalMainCf } from "../support/compat/twin.js";

describe("compat suite support", () => {
  it("quotes every word so that sh passes it through verbatim", () => {
    const words = ["plain", "a b", "it's", "'; touch /tmp/x; '", "$(id)", "`id`", "*", "\\n", "", "-x", "é\tz", "\"q\""];
    const out = execFileSync("/bin/sh", ["-c", `printf '%s\\0' ${shJoin(words)}`], { encoding: "utf8" });
    expect(out.split("\0").slice(0, -1)).toEqual(words);
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
  });

  it("builds env prefixes with quoted values and refuses bad variable names", () => {
    const out = execFileSync("/bin/sh", ["-c", `${envPrefix({ A: "x y", B: "$(id)" })}sh -c 'printf "%s|%s" "$A" "$B"'`], {
      encoding: "utf8",
    });
    expect(out).toBe("x y|$(id)");
    expect(envPrefix(undefined)).toBe("");
    expect(() => envPrefix({ "A;B": "x" })).toThrow(/bad environment variable name/);
  });

  it("main.cf: ignores only the order within a run of parameter lines", () => {
    const a = "# head\na = 1\nb = 2\n    continued\n\n# tail\nc = 3\n";
    const b = "# head\nb = 2\n    continued\na = 1\n\n# tail\nc = 3\n";
    expect(canonicalMainCf(a)).toBe(canonicalMainCf(b));
    expect(canonicalMainCf(a)).not.toBe(canonicalMainCf(a.replace("a = 1", "a = 2")));
    expect(canonicalMainCf(a)).not.toBe(canonicalMainCf("a = 1\n# head\nb = 2\n    continued\n\n# tail\nc = 3\n"));
    expect(canonicalMainCf(a)).not.toBe(canonicalMainCf(a.replace("    continued\n", "")));
  });

  it("terminal text: only \\r\\n, pids and postfix-script's stop polling are normalised", () => {
    expect(normalizeText("a\r\nPID: 123 and 456\r\n")).toBe("a\nPID: <pid> and 456\n");
    expect(normalizeText("x/postfix-script: waiting for the Postfix mail system to terminate\nnext\n")).toBe("next\n");
    expect(normalizeText("postmulti: fatal: x\n")).toBe("postmulti: fatal: x\n");
    expect(normalizeText("postmulti: vstream_fflush_some: fd 3 flush 81\npostmulti: fatal: x\n")).toBe("postmulti: fatal: x\n");
  });

  it("mail log: keeps program and text of postmulti/postfix lines, drops time, host, pid and daemons", () => {
    const log = [
      "Nov 22 03:06:22 3b2743afc98f postmulti[36]: fatal: No instance named x",
      "Nov  2 13:06:22 host postfix/postmulti-script[40]: warning: /etc/postfix-out: please verify contents and remove by hand",
      "Nov 22 03:06:23 host postfix-out/master[77]: daemon started -- version 3.7.11",
      "Nov 22 03:06:24 host postfix/postfix-script[81]: starting the Postfix mail system",
      "Nov 22 03:06:25 host postfix/postfix-script[90]: waiting for the Postfix mail system to terminate",
      "garbage",
    ].join("\n");
    expect(mailLogLines(log)).toEqual([
      "postmulti: fatal: No instance named x",
      "postfix/postmulti-script: warning: /etc/postfix-out: please verify contents and remove by hand",
      "postfix/postfix-script: starting the Postfix mail system",
    ]);
  });
});
