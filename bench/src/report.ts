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
  /**
   * Further figures the ratios compare, each with its own unit and sense
   * (a drain's peak RSS in MiB, lower is better).
   */
  compared?: Record<string, { unit: string; better: "higher" | "lower" }>;
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
    .map(([name, v]) => {
      if (name === r.unit) return `${fmt(v)} ${r.unit}`;
      const own = r.compared?.[name];
      return `${name} ${fmt(v)} ${own?.unit ?? r.unit}`;
    })
    .join("  ");
  return `${r.scenario.padEnd(SCENARIO_WIDTH)} ${r.library.padEnd(16)} ${r.setting.padEnd(22)} ${figures.padEnd(44)}${r.note ? ` ${r.note}` : ""}`;
}

/** `a` over `b`: the primary figure, then every further figure both compare. */
function pair(scenario: ScenarioName, a: Result, b: Result): Ratio[] {
  const out: Ratio[] = [];
  const figures: [string, "higher" | "lower"][] = [[a.primary, a.better]];
  for (const [name, { better }] of Object.entries(a.compared ?? {})) {
    if (b.compared?.[name] !== undefined) figures.push([name, better]);
  }
  for (const [figure, better] of figures) {
    const x = a.figures[figure];
    const y = b.figures[figure === a.primary ? b.primary : figure];
    if (x === undefined || y === undefined || !(y > 0)) continue;
    out.push({ scenario, figure, q: labelOf(a), peer: labelOf(b), ratio: x / y, better });
  }
  return out;
}

/**
 * q against every other library of the same scenario (the floor scenario
 * compares q's drain against the raw-SQL and storage-only figures). A result
 * that names a baseline (q against itself, q's other drivers against
 * `@q/pg`) is compared with that baseline only.
 */
export function ratios(results: readonly Result[]): Ratio[] {
  const out: Ratio[] = [];
  const scenarios = [...new Set(results.map((r) => r.scenario))];
  for (const scenario of scenarios) {
    const here = results.filter((r) => r.scenario === scenario);
    for (const r of here) {
      const base = here.find((b) => b.library === r.library && b.setting === r.against);
      if (base !== undefined) out.push(...pair(scenario, r, base));
    }
    const qs = (scenario === "floor" ? results.filter((r) => r.scenario === "drain") : here).filter(
      (r) => r.library === "q" && r.against === undefined,
    );
    const peers = here.filter((r) => r.library !== "q");
    for (const q of qs) {
      for (const peer of peers) out.push(...pair(scenario, q, peer));
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
