// --agent-persist: the resident agent's idle time, capped at an hour (the agent caps it too).
import { afterEach, describe, expect, it } from "vitest";
import { agentPersistMs, MAX_AGENT_PERSIST_S } from "../../../src/cli/agent-persist.js";
import { UsageError, type HostArgs } from "../../../src/cli/host-args.js";

const args = (s?: number) => ({ ...(s !== undefined ? { "agent-persist": s } : {}) }) as HostArgs;

describe("--agent-persist", () => {
  afterEach(() => {
    delete process.env.POSTFLEET_AGENT_PERSIST;
  });
  it("defaults to 300 s, 0 keeps none, an hour at most", () => {
    expect(agentPersistMs(args())).toBe(300_000);
    expect(agentPersistMs(args(0))).toBe(0);
    expect(agentPersistMs(args(MAX_AGENT_PERSIST_S))).toBe(3_600_000);
    expect(() => agentPersistMs(args(3601))).toThrow(UsageError);
    expect(() => agentPersistMs(args(3601))).toThrow(/from 0 to 3600, not 3601/);
    expect(() => agentPersistMs(args(-1))).toThrow(UsageError);
  });
  it("takes POSTFLEET_AGENT_PERSIST when the option is not given, with the same cap", () => {
    process.env.POSTFLEET_AGENT_PERSIST = "60";
    expect(agentPersistMs(args())).toBe(60_000);
    process.env.POSTFLEET_AGENT_PERSIST = "86400";
    expect(() => agentPersistMs(args())).toThrow(/from 0 to 3600/);
  });
});
