// Lab hosts for integration tests: the same implementation as `postfleet lab`
// (src/lab/lab.ts), in a fresh temporary directory per lab. `stop()` removes
// the containers and the directory (generated key included).
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startLab as startLabIn, LAB_LABEL, type Lab as LabBase, type LabOptions as Base, type RunningLabHost } from "../../src/lab/lab.js";

export { LAB_LABEL };
export type TestLabHost = RunningLabHost;
export type LabOptions = Omit<Base, "dir">;
export interface Lab extends Omit<LabBase, "stop"> {
  stop(): Promise<void>;
}

/** Start `count` lab hosts in parallel. Call `stop()` afterwards. */
export async function startLab(count: number, o: LabOptions = {}): Promise<Lab> {
  const lab = await startLabIn(count, { ...o, dir: mkdtempSync(join(tmpdir(), "postfleet-lab-")) });
  return { ...lab, stop: () => lab.stop({ removeDir: true }) };
}
