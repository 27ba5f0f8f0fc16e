// The suite's own pure parts: quoting (checked against the real /bin/sh),
// and that each normalization hides only what it documents.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { mailLogLines, normalizeText } from "../support/compat/scenario.js";
import { shellQuote } from "../../src/transport/shell.js";
import { envPrefix, shJoin } from "../support/compat/shell.js";
import { canonicalMainCf } from "../support/compat/twin.js";
import { SAMPLE_EVERY, inLiveSample, liveMode, loadRecords, realSource, recordKey, saveRecords, type ReferenceRecord } from "../support/compat/reference-record.js";
import { scenarios } from "./scenarios.js";

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

  it("records of the real side: keyed by scenario, lab image and Postfix; a quarter checked live each day", () => {
    const lab = { labImage: "postfleet-lab:0123456789abcdef", postfixVersion: "3.7.11-0+deb12u1" };
    const withMap = scenarios.find((s) => s.steps.some((st) => "pm" in st && st.reference && "map" in st.reference))!;
    const key = recordKey(withMap, lab);
    expect(recordKey(withMap, lab)).toBe(key);
    expect(recordKey(withMap, { ...lab, postfixVersion: "3.7.12-0+deb12u1" })).not.toBe(key);
    expect(recordKey(withMap, { ...lab, labImage: "postfleet-lab:fedcba9876543210" })).not.toBe(key);
    expect(recordKey({ ...withMap, setup: [...(withMap.setup ?? []), "true"] }, lab)).not.toBe(key);
    // A step's reference function counts by its place, not its compiled text (which differs between
    // vitest and tsx); its source is in scenarios.ts, whose hash is part of every key.
    const changedMap = {
      ...withMap,
      steps: withMap.steps.map((st) => ("pm" in st && st.reference && "map" in st.reference ? { ...st, reference: { ...st.reference, map: (r: any) => r } } : st)),
    };
    expect(recordKey(changedMap, lab)).toBe(key);
    const withoutMap = { ...withMap, steps: withMap.steps.map((st) => ("pm" in st && st.reference ? { ...st, reference: undefined } : st)) };
    expect(recordKey(withoutMap, lab)).not.toBe(key);

    const rec: ReferenceRecord = { scenario: withMap.name, key, real: { steps: [], tree: {}, log: [] } };
    const day = new Date("2026-12-07T12:00:00Z");
    const live = [...Array(2 * SAMPLE_EVERY).keys()].filter((i) => inLiveSample(i, day));
    expect(live).toHaveLength(2);
    expect(live[1]! - live[0]!).toBe(SAMPLE_EVERY);
    const next = new Date(day.getTime() + 86_400_000);
    expect(live.some((i) => inLiveSample(i, next))).toBe(false);
    const [sampled] = live;
    const notSampled = (sampled! + 1) % SAMPLE_EVERY;
    expect(realSource(notSampled, key, rec, "sample", day)).toEqual({ use: "record", record: rec });
    expect(realSource(sampled!, key, rec, "sample", day)).toEqual({ use: "live", check: rec });
    expect(realSource(notSampled, "stale", rec, "sample", day)).toEqual({ use: "live" });
    expect(realSource(notSampled, key, undefined, "sample", day)).toEqual({ use: "live" });
    expect(realSource(notSampled, key, rec, "all", day)).toEqual({ use: "live", check: rec });
    expect(realSource(notSampled, key, rec, "record", day)).toEqual({ use: "live" });
    expect(liveMode({})).toBe("sample");
    expect(liveMode({ POSTFLEET_COMPAT_LIVE: "all" })).toBe("all");
    expect(liveMode({ POSTFLEET_COMPAT_SUBJECT: "postmulti" })).toBe("all");
    expect(liveMode({ POSTFLEET_COMPAT_RECORD: "1" })).toBe("record");
  });

  it("the record file keeps each long text once and reads back exactly", () => {
    const master = `f root:root 644\n${"smtp inet n - y - - smtpd\n".repeat(20)}`;
    const rec = (scenario: string, main: string): ReferenceRecord => ({
      scenario,
      key: "k",
      real: { steps: [{ step: "postmulti -l", exitCode: 0, stdout: "-\t-\ty\t/etc/postfix\n", stderr: "" }], tree: { "/etc/postfix/master.cf": master, "/etc/postfix/main.cf": main, "/etc/postfix": "d root:root 755" }, log: ["postmulti: x"] },
    });
    const records = [rec("one", `f root:root 644\n${"a = 1\n".repeat(50)}`), rec("two", "f root:root 644\nshort = 1\n")];
    const file = join(mkdtempSync(join(tmpdir(), "compat-record-")), "reference.jsonl");
    saveRecords(records, file);
    const text = readFileSync(file, "utf8");
    // master.cf (20 such lines) is in both records, and in the file once.
    expect(text.split("smtp inet n - y - - smtpd").length - 1, "master.cf's text stored once").toBe(20);
    expect(text.trimEnd().split("\n")).toHaveLength(3);
    expect([...loadRecords(file).values()]).toEqual(records);
  });
});
