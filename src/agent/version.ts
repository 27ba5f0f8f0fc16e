/** The agent's version, reported in hello and facts. Keep in step with package.json. */
export const AGENT_VERSION = "0.1.0";
