/**
 * The broker's own ceiling on this machine: Kafka's `kafka-producer-perf-test` and
 * `kafka-consumer-perf-test` (the Java classes org.apache.kafka.tools.ProducerPerformance
 * and ConsumerPerformance, Apache Kafka's own Java client) on the benchmark's topics and
 * record sizes, in the same run — the "physical limit" rows (issue 14).
 *
 * Classpath: the broker jars the local stack downloaded (scripts/stack: PATHS.kafkaLibs,
 * or the classpath of the running broker when this checkout did not start it) plus
 * `kafka-tools`, which the stack does not download (the broker does not need it):
 * fetched once with Maven, like the stack's own jars, into .cache/bench. Java is found
 * as the stack finds it (scripts/stack/java.ts).
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { findJava } from '../../scripts/stack/java.js';
import { CACHE, KAFKA_VERSION, PATHS, ROOT } from '../../scripts/stack/settings.js';

const run = promisify(execFile);
const DEPENDENCY_PLUGIN = 'org.apache.maven.plugins:maven-dependency-plugin:3.8.1';
const TOOLS_DIR = join(ROOT, '.cache', 'bench');

/** The running broker's `-cp` value (its JVM's command line), when one runs on this machine. */
function runningBrokerClasspath(): string | undefined {
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (!args.includes('kafka.Kafka')) continue;
      const cp = args[args.indexOf('-cp') + 1];
      if (cp !== undefined && args.indexOf('-cp') >= 0) return cp;
    } catch {
      // a process that ended while we looked
    }
  }
  return undefined;
}

function brokerClasspath(): string {
  if (process.env.BENCH_KAFKA_LIBS) return `${process.env.BENCH_KAFKA_LIBS}/*`;
  if (existsSync(join(PATHS.kafkaLibs, '.complete'))) return `${PATHS.kafkaLibs}/*`;
  const running = runningBrokerClasspath();
  if (running !== undefined) return running;
  throw new Error(`no Kafka jars: neither ${PATHS.kafkaLibs} (npm run stack -- up downloads them) nor a running broker's classpath; set BENCH_KAFKA_LIBS`);
}

function toolsJar(log: (msg: string) => void): string {
  const jar = join(TOOLS_DIR, `kafka-tools-${KAFKA_VERSION}.jar`);
  if (existsSync(jar)) return jar;
  log(`fetching kafka-tools ${KAFKA_VERSION} (ProducerPerformance, ConsumerPerformance) from Maven Central into ${TOOLS_DIR}`);
  const res = spawnSync('mvn', ['-B', '-q', `${DEPENDENCY_PLUGIN}:copy`, `-Dartifact=org.apache.kafka:kafka-tools:${KAFKA_VERSION}`, `-DoutputDirectory=${TOOLS_DIR}`], { encoding: 'utf8' });
  if (res.status !== 0 || !existsSync(jar)) throw new Error(`Maven could not fetch kafka-tools ${KAFKA_VERSION}: ${res.stderr || res.stdout}`);
  return jar;
}

export interface KafkaTools {
  producer(input: ProducerPerfInput): Promise<ProducerPerf>;
  consumer(input: ConsumerPerfInput): Promise<ConsumerPerf>;
}

export interface ProducerPerfInput {
  brokers: readonly string[];
  topic: string;
  records: number;
  recordBytes: number;
  /** Producer properties as the edge uses them (acks=all, idempotence, linger). */
  props: Record<string, string | number>;
}

export interface ProducerPerf {
  recordsPerSec: number;
  mbPerSec: number;
  avgLatencyMs: number;
  p99LatencyMs: number;
  /** The tool's summary line, for the log. */
  line: string;
}

export interface ConsumerPerfInput {
  brokers: readonly string[];
  topic: string;
  messages: number;
  groupId: string;
}

export interface ConsumerPerf {
  recordsPerSec: number;
  mbPerSec: number;
  /** Records/s over the fetch time only (the tool's fetch.nMsg.sec: the group join excluded, as in the other rows). */
  fetchRecordsPerSec: number;
  line: string;
}

/** "500000 records sent, 123456.7 records/sec (35.80 MB/sec), 12.34 ms avg latency, 250.00 ms max latency, 5 ms 50th, 30 ms 95th, 45 ms 99th, 60 ms 99.9th." */
export function parseProducerPerf(stdout: string): ProducerPerf {
  const line = stdout.trim().split('\n').reverse().find((l) => /records sent/.test(l) && /99th/.test(l));
  const m = line && /records sent, ([\d.]+) records\/sec \(([\d.]+) MB\/sec\), ([\d.]+) ms avg latency.*?, (\d+) ms 99th/.exec(line);
  if (!line || !m) throw new Error(`ProducerPerformance: no summary line in ${JSON.stringify(stdout.slice(-500))}`);
  return { recordsPerSec: Number(m[1]), mbPerSec: Number(m[2]), avgLatencyMs: Number(m[3]), p99LatencyMs: Number(m[4]), line };
}

/** The CSV line after the header: start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec */
export function parseConsumerPerf(stdout: string): ConsumerPerf {
  const line = stdout.trim().split('\n').reverse().find((l) => l.split(',').length >= 10);
  if (!line) throw new Error(`ConsumerPerformance: no result line in ${JSON.stringify(stdout.slice(-500))}`);
  const f = line.split(',').map((s) => s.trim());
  return { mbPerSec: Number(f[3]), recordsPerSec: Number(f[5]), fetchRecordsPerSec: Number(f[9]), line };
}

export function createKafkaTools(log: (msg: string) => void): KafkaTools {
  const java = findJava(17, `Kafka ${KAFKA_VERSION} tools`);
  const classpath = `${brokerClasspath()}:${toolsJar(log)}`;
  // The tools log through log4j2 at INFO by default; the stack's config keeps the summary lines alone on stdout.
  const log4j = join(CACHE, 'kafka-log4j2.yaml');
  const jvm = ['-Xmx512m', '-Djava.awt.headless=true', ...(existsSync(log4j) ? [`-Dlog4j2.configurationFile=${log4j}`] : []), '-cp', classpath];
  const java$ = async (main: string, args: string[]) => (await run(java.bin, [...jvm, main, ...args], { maxBuffer: 16 * 2 ** 20, timeout: 600_000 })).stdout;
  return {
    async producer(input) {
      const props = Object.entries({ 'bootstrap.servers': input.brokers.join(','), ...input.props }).map(([k, v]) => `${k}=${v}`);
      return parseProducerPerf(await java$('org.apache.kafka.tools.ProducerPerformance', [
        '--topic', input.topic, '--num-records', String(input.records), '--record-size', String(Math.max(1, Math.round(input.recordBytes))), '--throughput', '-1', '--producer-props', ...props,
      ]));
    },
    async consumer(input) {
      return parseConsumerPerf(await java$('org.apache.kafka.tools.ConsumerPerformance', [
        '--bootstrap-server', input.brokers.join(','), '--topic', input.topic, '--messages', String(input.messages), '--group', input.groupId, '--timeout', '60000',
      ]));
    },
  };
}
