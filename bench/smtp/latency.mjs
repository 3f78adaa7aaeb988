// p50/p99 of tegami_smtp_queue_latency_seconds over the measured run: the difference of
// two scrapes of the Prometheus histogram, interpolated linearly within a bucket (what
// histogram_quantile() does).
import { readFileSync } from 'node:fs';

function buckets(file) {
  const out = new Map();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^tegami_smtp_queue_latency_seconds_bucket\{.*le="([^"]+)".*\} (\d+(?:\.\d+)?)$/.exec(line);
    if (m) out.set(m[1], (out.get(m[1]) ?? 0) + Number(m[2]));
  }
  return out;
}

const before = buckets(process.argv[2]);
const after = buckets(process.argv[3]);
const rows = [...after.entries()]
  .map(([le, n]) => [le === '+Inf' ? Infinity : Number(le), n - (before.get(le) ?? 0)])
  .sort((a, b) => a[0] - b[0]);
const total = rows.at(-1)[1];
function quantile(q) {
  const rank = q * total;
  let prevBound = 0;
  let prevCount = 0;
  for (const [bound, count] of rows) {
    if (count >= rank) {
      if (bound === Infinity) return prevBound;
      return prevBound + ((bound - prevBound) * (rank - prevCount)) / Math.max(1, count - prevCount);
    }
    prevBound = bound;
    prevCount = count;
  }
  return NaN;
}
console.log(
  `end of DATA -> 250 over ${total} messages: p50 ${(quantile(0.5) * 1000).toFixed(1)} ms, p99 ${(quantile(0.99) * 1000).toFixed(1)} ms`,
);
