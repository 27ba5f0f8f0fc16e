// The import rules of docs/architecture.md, enforced by `npm run lint:imports`
// (part of `npm run build`, hence of the tests and CI): a wrong import fails
// the build. Each rule says which folder may not import which.
const folder = (name) => `^src/${name}/`;
const others = (...allowed) => `^src/(?!(${allowed.join("|")})/)[^/]+/`;

module.exports = {
  forbidden: [
    {
      name: "agent-only-protocol",
      comment: "The agent is bundled alone and runs on the host: it may import only the protocol.",
      severity: "error",
      from: { path: folder("agent") },
      to: { path: others("agent", "protocol") },
    },
    {
      name: "protocol-imports-nothing",
      comment: "The controller/agent contract stands alone.",
      severity: "error",
      from: { path: folder("protocol") },
      to: { path: others("protocol") },
    },
    {
      name: "shared-imports-nothing",
      comment: "src/shared is the neutral ground (connection settings, the password prompt): it imports no other part.",
      severity: "error",
      from: { path: folder("shared") },
      to: { path: others("shared") },
    },
    {
      name: "inventory-knows-no-transport",
      comment: "Inventory resolves hosts and variables; it knows nothing of how hosts are reached or runs are made.",
      severity: "error",
      from: { path: folder("inventory") },
      to: { path: others("inventory", "shared") },
    },
    {
      name: "transport-only-protocol",
      comment: "Transport connects and speaks the protocol; it knows nothing of inventories, runs or output.",
      severity: "error",
      from: { path: folder("transport") },
      to: { path: others("transport", "protocol", "shared") },
    },
    {
      name: "playbook-is-a-document",
      comment: "Playbooks are parsed and planned before anything connects: inventory (patterns, variables) and the protocol's types only.",
      severity: "error",
      from: { path: folder("playbook") },
      to: { path: others("playbook", "inventory", "protocol", "shared") },
    },
    {
      name: "orchestrator-never-prints",
      comment: "The engine uses inventory, playbooks, transport and the protocol; renderers and the CLI watch it, never the reverse.",
      severity: "error",
      from: { path: folder("orchestrator") },
      to: { path: others("orchestrator", "inventory", "playbook", "transport", "protocol", "shared") },
    },
    {
      name: "drift-compares-results",
      comment: "Drift compares configurations the engine gathered (its result types, type-only) with each other, a snapshot or a playbook; it renders nothing.",
      severity: "error",
      from: { path: folder("drift") },
      to: { path: others("drift", "orchestrator", "protocol", "playbook", "shared") },
    },
    {
      name: "drift-orchestrator-types-only",
      severity: "error",
      from: { path: folder("drift") },
      to: { path: folder("orchestrator"), dependencyTypesNot: ["type-only"] },
    },
    {
      name: "report-reads-result-types",
      comment: "Renderers read the engine's result and event types (type-only imports) and drift's reports, never drive the engine.",
      severity: "error",
      from: { path: folder("report") },
      to: { path: others("report", "drift", "orchestrator", "protocol", "playbook", "shared") },
    },
    {
      name: "report-orchestrator-types-only",
      severity: "error",
      from: { path: folder("report") },
      to: { path: folder("orchestrator"), dependencyTypesNot: ["type-only"] },
    },
    {
      name: "lab-uses-transport-facade",
      comment: "The lab starts containers and writes inventories; it may use transport (known_hosts) and shared.",
      severity: "error",
      from: { path: folder("lab") },
      to: { path: others("lab", "transport", "shared") },
    },
    {
      name: "facades-only",
      comment: "Other parts reach transport and inventory through their index.ts only.",
      severity: "error",
      from: { path: "^src/", pathNot: "^src/(transport|inventory)/" },
      to: { path: "^src/(transport|inventory)/(?!index\\.ts$)" },
    },
    {
      name: "no-circular",
      severity: "error",
      from: { path: "^src/" },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsConfig: { fileName: "tsconfig.json" },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { extensions: [".ts", ".js"] },
  },
};
