/**
 * A real FastNetMon (community edition, Debian's 1.2.4) for the tests and the end-to-end
 * benchmark: never the system service, but an instance of our own with its configuration, log,
 * statistics files and notify script in a temporary directory, collecting NetFlow on a free UDP
 * port of 127.0.0.1. Its vendor usage report, gRPC API and Prometheus endpoint are off (they
 * would use fixed ports or the network). Thresholds and ban time are tuned to detect a flood
 * within about a second and unban a few seconds after it stops.
 */
import { readFileSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";

import { freeUdpPort } from "../../src/net";
import { startDaemon, type Daemon } from "./bgp";
import { until } from "./until";

/** The project's notify script (FastNetMon's notify_script_path). */
export const NOTIFY_SCRIPT = path.join(__dirname, "..", "..", "scripts", "fastnetmon-notify.cjs");

export interface FastnetmonOptions {
  dir: string;
  /** The networks FastNetMon watches (networks_list). */
  networks: string[];
  /** Where the notify script finds the victim daemon (VICTIM_DAEMON_URL). */
  daemonUrl: string;
  /** Packets per second to one address that make an attack. */
  thresholdPps?: number;
  /** Seconds a ban lasts at least; the unban comes once the attack is over. */
  banTime?: number;
}

export interface Fastnetmon extends Daemon {
  /** Where it collects NetFlow. */
  netflowPort: number;
  /** Its own log (not the process's output). */
  logFile: string;
  logText(): string;
}

export async function startFastnetmon(options: FastnetmonOptions): Promise<Fastnetmon> {
  const { dir } = options;
  const netflowPort = await freeUdpPort();
  const file = (name: string) => path.join(dir, name);
  writeFileSync(file("networks_list"), options.networks.join("\n") + "\n");
  writeFileSync(file("networks_whitelist"), "");
  // FastNetMon runs the script through the shell: a path without spaces.
  symlinkSync(NOTIFY_SCRIPT, file("notify"));
  const config = {
    logging_level: "info",
    logging_local_syslog_logging: "off",
    logging_remote_syslog_logging: "off",
    disable_usage_report: "on",
    enable_api: "off",
    prometheus: "off",
    enable_ban: "on",
    enable_ban_ipv6: "on",
    process_incoming_traffic: "on",
    process_outgoing_traffic: "on",
    ban_details_records_count: "20",
    ban_time: String(options.banTime ?? 4),
    unban_only_if_attack_finished: "on",
    networks_list_path: file("networks_list"),
    white_list_path: file("networks_whitelist"),
    check_period: "1",
    enable_connection_tracking: "on",
    ban_for_pps: "on",
    ban_for_bandwidth: "off",
    ban_for_flows: "off",
    threshold_pps: String(options.thresholdPps ?? 1000),
    // The average over about a second: a flood crosses the threshold at the first recalculation.
    average_calculation_time: "1",
    speed_calculation_delay: "1",
    mirror_afpacket: "off",
    pcap: "off",
    sflow: "off",
    netflow: "on",
    netflow_host: "127.0.0.1",
    netflow_port: String(netflowPort),
    netflow_sampling_ratio: "1",
    notify_script_path: file("notify"),
    redis_enabled: "off",
    mongodb_enabled: "off",
    exabgp: "off",
    gobgp: "off",
    influxdb: "off",
    graphite: "off",
    kafka_traffic_export: "off",
    monitor_local_ip_addresses: "off",
    pid_path: file("fastnetmon.pid"),
    cli_stats_file_path: file("fastnetmon.dat"),
    cli_stats_ipv6_file_path: file("fastnetmon_ipv6.dat"),
  };
  writeFileSync(
    file("fastnetmon.conf"),
    Object.entries(config)
      .map(([key, value]) => `${key} = ${value}`)
      .join("\n") + "\n",
  );
  const logFile = file("fastnetmon.log");
  writeFileSync(logFile, "");
  const daemon = startDaemon(
    "fastnetmon",
    ["--configuration_file", file("fastnetmon.conf"), "--log_file", logFile, "--disable_pid_logic"],
    file("fastnetmon.out"),
    { ...process.env, VICTIM_DAEMON_URL: options.daemonUrl },
  );
  const logText = () => readFileSync(logFile, "utf8");
  try {
    await until(
      () => logText().includes(`listen on 127.0.0.1:${netflowPort} udp port`),
      15_000,
      `FastNetMon to collect NetFlow on port ${netflowPort}`,
      50,
    );
  } catch (error) {
    await daemon.stop();
    throw error;
  }
  return { ...daemon, netflowPort, logFile, logText };
}
