// Node.js version rules and the package manager steps of bootstrap.
import { describe, expect, it } from "vitest";
import { installSteps, PACKAGE_MANAGERS } from "../../../src/transport/node-bootstrap.js";
import { nodeCandidates, nodeMajor } from "../../../src/transport/node-detect.js";

describe("Node.js and bootstrap rules", () => {
  it("reads major versions", () => {
    expect(nodeMajor("18.19.0")).toBe(18);
    expect(nodeMajor("v20.1.0")).toBe(20);
    expect(nodeMajor("garbage")).toBe(0);
    expect(nodeCandidates()).toEqual(["node", "nodejs"]);
    expect(nodeCandidates("/opt/node/bin/node")).toEqual(["/opt/node/bin/node"]);
  });

  it("has non-interactive install steps for every package manager", () => {
    for (const pm of PACKAGE_MANAGERS) {
      const steps = installSteps(pm);
      expect(steps.length).toBeGreaterThan(0);
      expect(steps.flat().join(" ")).toMatch(/nodejs/);
      expect(steps.flat().join(" ")).toMatch(/-y|--no-cache|-n install|noninteractive/);
    }
    expect(installSteps("apt-get")[1]).toEqual(["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "-q", "-y", "install", "nodejs"]);
  });
});
