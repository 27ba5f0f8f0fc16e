// `postfleet ping`: can every host be reached and logged into, and which
// Node.js and Postfix does it run? Uses the same path as every other command
// (connect, push and start the agent), so a green ping means the fleet is ready.
import type { Argv, CommandModule } from "yargs";
import { withHostAgent } from "../../orchestrator/host-agent.js";
import { prepareRun, printHumanResults, runAndReport, type HostArgs } from "../context.js";
import { HOST_OPTIONS } from "../options.js";

export const pingCommand: CommandModule<object, HostArgs> = {
  command: "ping",
  describe: "Check reachability, authentication, Node.js and Postfix versions per host",
  builder: (y: Argv) =>
    y.options(HOST_OPTIONS).example("$0 -i inventories/example.yml -l border ping", "") as unknown as Argv<HostArgs>,
  handler: async (argv) => {
    const ctx = await prepareRun(argv);
    if (!ctx) return;
    const { doc, exitCode } = await runAndReport(ctx, "ping", (host) =>
      withHostAgent(ctx.targets.get(host)!, ctx, async (client) => {
        const facts = await client.request({ op: "facts", queues: false });
        if (facts.op !== "facts") throw new Error(`agent answered ${facts.op} to a facts request`);
        if (facts.error) throw new Error(facts.error.message);
        const data = {
          nodeVersion: facts.nodeVersion,
          postfixVersion: facts.postfixVersion,
          agentVersion: facts.agentVersion,
          hostname: facts.hostname,
          instances: facts.instances.length,
          user: client.hello.uid === 0 ? "root" : `uid ${client.hello.uid}`,
        };
        return {
          host,
          status: "ok",
          message: `node ${data.nodeVersion}, postfix ${data.postfixVersion}, ${data.instances} instance(s), agent as ${data.user}`,
          results: [],
          data,
        };
      }),
    );
    if (!ctx.json) printHumanResults(ctx, doc);
    process.exitCode = exitCode;
  },
};
