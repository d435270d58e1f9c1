/** The benchmark's rows: measurements against their baselines from the same run, as ratios, and the table they print as. */
import { median } from './scenarios.js';

export interface Row {
  readonly scenario: string;
  readonly proxy: string;
  readonly baseline: string;
  readonly ratio: string;
  readonly goal: string;
  /** undefined: information, no goal. */
  readonly met: boolean | undefined;
}

export interface Goal {
  readonly text: string;
  readonly met: (ratio: number) => boolean;
}
export const atMost = (limit: number): Goal => ({ text: `≤ ${limit.toFixed(2)}×`, met: (r) => r <= limit });
export const atLeast = (limit: number): Goal => ({ text: `≥ ${limit.toFixed(2)}×`, met: (r) => r >= limit });

/**
 * How a comparison is shown: `rounds` gives the spread of the per-round ratios (samples paired by
 * round); `percent` gives the overhead instead (single requests, too noisy to pair one by one).
 */
export interface Shown {
  readonly unit: string;
  readonly digits: number;
  readonly spread: 'rounds' | 'percent';
}
export const MICROS: Shown = { unit: ' µs', digits: 1, spread: 'rounds' };
export const PER_SECOND: Shown = { unit: '', digits: 0, spread: 'rounds' };
export const MEGABYTES_PER_SECOND: Shown = { unit: ' MB/s', digits: 0, spread: 'rounds' };
export const COUNT: Shown = { unit: '', digits: 2, spread: 'rounds' };
export const MILLIS_PER_MEGABYTE: Shown = { unit: ' ms/MB', digits: 2, spread: 'rounds' };
export const MILLIS: Shown = { unit: ' ms', digits: 1, spread: 'percent' };

export const fmt = (n: number, digits = 2) => n.toFixed(digits);
const spread = (values: readonly number[], digits = 2) => `${fmt(Math.min(...values), digits)}–${fmt(Math.max(...values), digits)}`;

/** One row: `measured` against `baseline`, taken in the same run; the columns show both medians. */
export function comparisonRow(scenario: string, measured: readonly number[], baseline: readonly number[], shown: Shown, goal?: Goal): Row {
  if (measured.length === 0 || baseline.length === 0) throw new Error(`${scenario}: no samples`);
  if (shown.spread === 'rounds' && measured.length !== baseline.length) throw new Error(`${scenario}: ${measured.length} rounds against ${baseline.length}`);
  // Paired by round, the ratio is the median of the per-round ratios: both servers ran within seconds
  // of each other, so a round in which the whole machine was slow counts once, not against one side.
  const paired = shown.spread === 'rounds' ? measured.map((m, i) => m / baseline[i]!) : undefined;
  const ratio = paired ? median(paired) : median(measured) / median(baseline);
  const detail = paired ? `rounds ${spread(paired)}` : `${ratio >= 1 ? '+' : '−'}${fmt(Math.abs(ratio - 1) * 100, 0)} %`;
  return {
    scenario,
    proxy: `${fmt(median(measured), shown.digits)}${shown.unit}`,
    baseline: `${fmt(median(baseline), shown.digits)}${shown.unit}`,
    ratio: `${fmt(ratio)}× (${detail})`,
    goal: goal?.text ?? '—',
    met: goal?.met(ratio),
  };
}

export function printTable(rows: readonly Row[]): void {
  const header: Row = { scenario: 'scenario', proxy: 'proxy', baseline: 'baseline', ratio: 'ratio', goal: 'goal', met: undefined };
  const cells = (r: Row) => [r.scenario, r.proxy, r.baseline, r.ratio, r.goal, r === header ? 'result' : r.met === undefined ? '—' : r.met ? 'met' : 'missed'];
  const table = [header, ...rows].map(cells);
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  const line = (row: string[]) => `| ${row.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(line(table[0]!));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const row of table.slice(1)) console.log(line(row));
}
