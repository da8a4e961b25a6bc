// What a failing seed prints: one line to replay it, then the story that led there, readable.
import type { RunResult } from './scenario.js';

/** The one-line command that replays a seed with its trace (in the 3.1.1-only world when it ran there). */
export function replayCommand(seed: number, mqtt5 = true): string {
  return `${mqtt5 ? '' : 'SIM_MQTT5=0 '}pnpm sim --seed ${seed}`;
}

/**
 * The violation, the replay command, and from the trace: every line about the message the
 * violation names, the faults, and the last lines before it.
 */
export function explain(result: RunResult, lastLines = 60): string {
  const v = result.violation;
  const out: string[] = [];
  out.push(`seed ${result.seed}: ${v ? `${v.invariant}: ${v.detail}` : 'passed'}`);
  out.push(`replay: ${replayCommand(result.seed, result.mqtt5)}`);
  const trace = result.trace;
  if (!trace || !v) return out.join('\n');
  const lines = trace.lines;
  const ids = [...new Set(v.detail.match(/\b[a-z]+\d*\/\d+\b/g) ?? [])];
  for (const id of ids) {
    const re = new RegExp(`"${id.replace('/', '\\/')} |\\b${id.replace('/', '\\/')}\\b`);
    // the lines naming it, and the acknowledgements of the packet ids it went out with
    const packets = new Set<string>();
    for (const l of lines)
      if (re.test(l)) {
        const m = /\s(\S+)>(\S+)\s+PUBLISH .* #(\d+)/.exec(l);
        if (m) packets.add(`${m[1]}>${m[2]} #${m[3]}`).add(`${m[2]}>${m[1]} #${m[3]}`);
      }
    let started = false;
    const about = (l: string) => {
      if (re.test(l)) return (started = true);
      if (!started) return false;
      const m = /\s(\S+>\S+)\s+(?:PUBACK|PUBREC|PUBREL|PUBCOMP) #(\d+)$/.exec(l);
      return !!m && packets.has(`${m[1]} #${m[2]}`);
    };
    const story = lines.filter(about);
    if (story.length) out.push('', `${id}, every line about it (and its packet ids):`, ...story.slice(0, 80));
  }
  const faults = lines.filter((l) => / fault[: ]|crash|partition|power |unreachable|freezes|stops /.test(l));
  if (faults.length)
    out.push('', `faults (${faults.length}${faults.length > 40 ? ', the last 40' : ''}):`, ...faults.slice(-40));
  out.push('', `the last ${Math.min(lastLines, lines.length)} lines:`, trace.tail(lastLines));
  return out.join('\n');
}
