// How an instance is shown: the protocol's InstanceInfo/InstanceResult shapes and postmulti's -l lines.
import type { InstanceInfo, InstanceResult } from "../../protocol/index.js";
import { dash, type Instance } from "./instances.js";

export function instanceInfo(ip: Instance): InstanceInfo {
  return { name: dash(ip.name), group: dash(ip.group), enabled: ip.enabled, configDirectory: ip.configDir, primary: ip.primary };
}

export function emptyResult(ip: Instance, command: string[] | null = null): InstanceResult {
  return { ...instanceInfo(ip), command, exitCode: 0, stdout: "", stderr: "", durationMs: 0, changed: false };
}

/** One -l line, as postmulti formats it. */
export function listLine(ip: Instance): string {
  const pad = (s: string, n: number) => (s.length >= n ? s : s + " ".repeat(n - s.length));
  return `${pad(dash(ip.name), 15)} ${pad(dash(ip.group), 15)} ${pad(ip.enabled ? "y" : "n", 9)} ${ip.configDir}\n`;
}

/** One -l -j line, as Postfix >= 3.11 formats it. */
export function listJsonLine(ip: Instance): string {
  const q = (s: string) => JSON.stringify(s);
  return (
    `{"name": ${q(dash(ip.name))},"group": ${q(dash(ip.group))},` +
    `"enabled": ${q(ip.enabled ? "y" : "n")},"config_directory": ${q(ip.configDir)}}\n`
  );
}
