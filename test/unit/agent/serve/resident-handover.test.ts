// Where a resident agent listens and whom it serves is decided from the
// process's own uid and sudo's variables only, never from anything under the
// login user's home (which that user can swap for a symlink at any moment).
import { describe, expect, it } from "vitest";
import { residentPlace, residentSocketName } from "../../../../src/agent/serve/resident-handover.js";
import { runDirProblem } from "../../../../src/agent/system/run-dir.js";

const cache = "/home/ops/.cache/postfleet";

describe("residentPlace", () => {
  it("a root agent through sudo listens in /run/postfleet for the sudo user, whatever the cache is", () => {
    expect(residentPlace(0, { SUDO_UID: "1000", SUDO_GID: "1000", SUDO_USER: "ops" }, cache)).toEqual({
      dir: "/run/postfleet",
      login: { uid: 1000, gid: 1000, sudoUser: "ops" },
    });
    expect(residentSocketName(1000, 0)).toBe("resident-1000-as-0.sock");
  });
  it("root logged in as root: /run/postfleet, no sudo check", () => {
    expect(residentPlace(0, {}, "/root/.cache/postfleet")).toEqual({ dir: "/run/postfleet", login: { uid: 0, gid: 0 } });
    expect(residentPlace(0, { SUDO_UID: "0", SUDO_GID: "0", SUDO_USER: "root" }, cache)).toEqual({ dir: "/run/postfleet", login: { uid: 0, gid: 0 } });
  });
  it("the login user's own agent listens in the cache it was started from", () => {
    expect(residentPlace(1000, {}, cache).dir).toBe(cache);
    expect(residentPlace(1000, { SUDO_UID: "1000" }, cache).dir).toBe(cache);
  });
  it("refuses a third user and a malformed sudo user", () => {
    expect(() => residentPlace(1001, { SUDO_UID: "1000" }, cache)).toThrow(/not as uid 1001/);
    expect(() => residentPlace(0, { SUDO_UID: "1000", SUDO_USER: "ops;rm -rf /" }, cache)).toThrow(/SUDO_USER/);
    expect(() => residentPlace(0, { SUDO_UID: "1000" }, cache)).toThrow(/SUDO_USER/);
  });
});

describe("runDirProblem", () => {
  const dir = (uid: number, mode: number) => ({ isDirectory: () => true, uid, mode: 0o40000 | mode });
  it("accepts root's 0711 and 0755, refuses others' or writable ones", () => {
    expect(runDirProblem(dir(0, 0o711), 0)).toBeUndefined();
    expect(runDirProblem(dir(0, 0o755), 0)).toBeUndefined();
    expect(runDirProblem(dir(1000, 0o711), 0)).toMatch(/owned by uid 1000/);
    expect(runDirProblem(dir(0, 0o777), 0)).toMatch(/writable/);
    expect(runDirProblem({ isDirectory: () => false, uid: 0, mode: 0o777 }, 0)).toMatch(/not a directory/);
  });
});
