// The differential suite: every scenario of scenarios.ts on two fresh twin
// lab containers, the real /usr/sbin/postmulti on one, the agent
// (node /opt/postfleet/agent.cjs, from `npm run bundle`) on the other, with
// per-step exit code, stdout and stderr text, and the final file tree
// compared. The real side's outcome comes from test/compat/reference.jsonl
// when its record is current, except for a rotating quarter of the scenarios
// that run it live and check the record (reference-record.ts).
// POSTFLEET_COMPAT_SUBJECT=postmulti runs the real one on both sides
// (self-check of the suite). See test/compat/README.md.
import pLimit from "p-limit";
import { afterAll, describe, expect, it } from "vitest";
import { scenarios } from "./scenarios.js";
import { runScenario } from "../support/compat/scenario.js";
import { dumpOutcome, findMismatch, recordMismatch } from "../support/compat/report.js";
import { labImageTag } from "../support/compat/twin.js";
import {
  RECORD_FILE,
  liveMode,
  loadRecords,
  postfixPackageVersion,
  realSource,
  recordKey,
  saveRecords,
  type ReferenceRecord,
} from "../support/compat/reference-record.js";

// Two scenarios (four containers) at a time: the machine has two cores.
const limit = pLimit(Number(process.env.POSTFLEET_COMPAT_PARALLEL ?? 2));

const mode = liveMode();
const records = loadRecords();
let labEnv: { labImage: string; postfixVersion: string } | undefined;
function currentLab() {
  if (!labEnv) {
    const labImage = labImageTag();
    labEnv = { labImage, postfixVersion: postfixPackageVersion(labImage) };
  }
  return labEnv;
}
const recorded = new Map<string, ReferenceRecord>();
const realRan = { fromRecord: 0, checked: 0, unrecorded: [] as string[] };

describe("postmulti differential suite: real postmulti vs the agent", () => {
  it("has at least 40 scenarios with distinct names", () => {
    expect(scenarios.length).toBeGreaterThanOrEqual(40);
    expect(new Set(scenarios.map((s) => s.name)).size).toBe(scenarios.length);
  });

  scenarios.forEach((s, index) => {
    it.concurrent(
      s.name,
      async ({ expect }) => {
        const key = recordKey(s, currentLab());
        const source = realSource(index, key, records.get(s.name), mode);
        const { real, subject } = await limit(() => runScenario(s, source.use === "record" ? source.record.real : undefined));
        if (source.use === "record") realRan.fromRecord++;
        else if (source.check) {
          realRan.checked++;
          expect
            .soft(real, `the real postmulti still does what ${RECORD_FILE} says (if Postfix changed: npm run compat:record)`)
            .toEqual(source.check.real);
        } else realRan.unrecorded.push(s.name);
        if (mode === "record") recorded.set(s.name, { scenario: s.name, key, real });
        dumpOutcome(s.name, real, subject);
        recordMismatch(findMismatch(s.name, real, subject));
        expect.soft(subject.steps, "exit code, stdout and stderr of every step").toEqual(real.steps);
        expect.soft(subject.tree, "file tree (type, owner, mode, content)").toEqual(real.tree);
        expect.soft(subject.log, "mail log lines of postmulti, postmulti-script, postfix, postfix-script").toEqual(real.log);
      },
      600_000,
    );
  });

  afterAll(() => {
    if (mode === "record") {
      // Only a complete record is written: a scenario that failed to run keeps the file as it was.
      if (recorded.size === scenarios.length) saveRecords(scenarios.map((s) => recorded.get(s.name)!));
      else console.warn(`compat: ${scenarios.length - recorded.size} scenarios did not run; ${RECORD_FILE} left as it was`);
      return;
    }
    const { fromRecord, checked, unrecorded } = realRan;
    console.log(
      `compat: the real postmulti ran live for ${checked + unrecorded.length} scenarios ` +
        `(${checked} checked against their record), ${fromRecord} came from ${RECORD_FILE}`,
    );
    if (unrecorded.length > 0 && mode === "sample") {
      console.warn(
        `compat: ${unrecorded.length} scenarios have no current record for ${currentLab().labImage} ` +
          `(postfix ${currentLab().postfixVersion}) and ran live: npm run compat:record refreshes them`,
      );
    }
  });
});
