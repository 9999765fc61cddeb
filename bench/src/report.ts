import { mkdir, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { type ScenarioName, scenarioNames } from "./config.js";

/** One line of the report: one scenario, one library, one setting. */
export interface Result {
  scenario: ScenarioName;
  library: string;
  setting: string;
  /** Named figures; `primary` is the one ratios compare. */
  figures: Record<string, number>;
  primary: string;
  unit: string;
  better: "higher" | "lower";
  /** q against itself: the setting of the same scenario this one is a ratio of. */
  against?: string;
  /** Jobs measured, time taken, budget hits, what history was written… */
  note?: string;
  extra?: Record<string, unknown>;
}

export interface Ratio {
  scenario: ScenarioName;
  figure: string;
  q: string;
  peer: string;
  ratio: number;
  better: "higher" | "lower";
}

const labelOf = (r: Pick<Result, "library" | "setting">) =>
  r.setting === "default" ? `${r.library}(default)` : `${r.library}(${r.setting})`;

function fmt(value: number): string {
  if (!Number.isFinite(value)) return "n/a";
  if (value >= 1000) return Math.round(value).toLocaleString("en-US");
  if (value >= 100) return value.toFixed(0);
  if (value >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

/** The line printed for a result. */
/** The first column fits the longest scenario name, so every row lines up. */
const SCENARIO_WIDTH = Math.max(...scenarioNames.map((n) => n.length));

export function formatResult(r: Result): string {
  const figures = Object.entries(r.figures)
    .map(([name, v]) => (name === r.unit ? `${fmt(v)} ${r.unit}` : `${name} ${fmt(v)} ${r.unit}`))
    .join("  ");
  return `${r.scenario.padEnd(SCENARIO_WIDTH)} ${r.library.padEnd(16)} ${r.setting.padEnd(22)} ${figures.padEnd(44)}${r.note ? ` ${r.note}` : ""}`;
}

/**
 * q against every other library of the same scenario (the floor scenario
 * compares q's drain against the raw-SQL and storage-only figures).
 */
export function ratios(results: readonly Result[]): Ratio[] {
  const out: Ratio[] = [];
  const scenarios = [...new Set(results.map((r) => r.scenario))];
  for (const scenario of scenarios) {
    const here = results.filter((r) => r.scenario === scenario);
    // q against itself: each result that names a baseline, over that baseline.
    for (const r of here) {
      const base = here.find((b) => b.library === r.library && b.setting === r.against);
      const a = r.figures[r.primary];
      const b = base?.figures[base.primary];
      if (base === undefined || a === undefined || b === undefined || !(b > 0)) continue;
      out.push({
        scenario,
        figure: r.primary,
        q: labelOf(r),
        peer: labelOf(base),
        ratio: a / b,
        better: r.better,
      });
    }
    const qs = (scenario === "floor" ? results.filter((r) => r.scenario === "drain") : here).filter(
      (r) => r.library === "q",
    );
    const peers = here.filter((r) => r.library !== "q");
    for (const q of qs) {
      for (const peer of peers) {
        const a = q.figures[q.primary];
        const b = peer.figures[peer.primary];
        if (a === undefined || b === undefined || !(b > 0)) continue;
        out.push({
          scenario,
          figure: q.primary,
          q: labelOf(q),
          peer: labelOf(peer),
          ratio: a / b,
          better: q.better,
        });
      }
    }
  }
  return out;
}

export function formatRatio(r: Ratio): string {
  const what = r.better === "lower" ? ` ${r.figure} (lower is better)` : "";
  const value =
    r.ratio >= 10 ? r.ratio.toFixed(0) : r.ratio >= 1 ? r.ratio.toFixed(2) : r.ratio.toPrecision(2);
  return `${r.scenario.padEnd(SCENARIO_WIDTH)} ${r.q}/${r.peer}${what} = ${value}×`;
}

export async function writeJson(file: string, report: unknown): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
}
