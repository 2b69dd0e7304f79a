import { CATEGORIES, CATEGORY_IDS, type CategoryId } from "../../controls/categories";
import type { DurationBucket, WeeklyFindings } from "../model";
import { escapeHtml } from "./escape";

type Area = CategoryId | "unknown";

/** One colour per checklist area; chosen to stay apart in print and for common colour-vision deficiencies. */
export const AREA_COLOURS: Readonly<Record<Area, string>> = {
  "public-exposure": "#d62728",
  tagging: "#9467bd",
  "audit-logging": "#1f77b4",
  "credential-rotation": "#ff7f0e",
  mfa: "#8c564b",
  "encryption-at-rest": "#2ca02c",
  "encryption-in-transit": "#17becf",
  backup: "#bcbd22",
  availability: "#e377c2",
  "risk-analysis": "#7f7f7f",
  unknown: "#393b79",
};

const AREAS: Area[] = [...CATEGORY_IDS, "unknown"];

export function areaTitle(area: Area): string {
  return area === "unknown" ? "Unknown control" : CATEGORIES[area].title;
}

const WIDTH = 720;
const HEIGHT = 260;
const MARGIN = { top: 16, right: 12, bottom: 48, left: 44 };

/** Stacked bars: findings per week, one colour per area. Inline SVG, no script, no fonts fetched. */
export function weeklyFindingsChart(weeks: readonly WeeklyFindings[]): string {
  if (weeks.length === 0) return `<p class="empty">No findings in this period, so there is nothing to chart.</p>`;
  const totals = weeks.map((w) => AREAS.reduce((sum, area) => sum + (w.byArea[area] ?? 0), 0));
  const max = niceMax(Math.max(...totals));
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const slot = plotWidth / weeks.length;
  const barWidth = Math.max(2, Math.min(48, slot * 0.7));
  const y = (value: number) => MARGIN.top + plotHeight - (value / max) * plotHeight;
  const labelEvery = Math.ceil(weeks.length / 12);

  const bars = weeks.map((week, index) => {
    const x = MARGIN.left + index * slot + (slot - barWidth) / 2;
    let stacked = 0;
    const segments = AREAS.filter((area) => (week.byArea[area] ?? 0) > 0).map((area) => {
      const count = week.byArea[area] ?? 0;
      const top = y(stacked + count);
      const height = y(stacked) - top;
      stacked += count;
      return `<rect x="${fixed(x)}" y="${fixed(top)}" width="${fixed(barWidth)}" height="${fixed(height)}" fill="${AREA_COLOURS[area]}"><title>${escapeHtml(`Week of ${week.weekStart}: ${count} ${areaTitle(area)}`)}</title></rect>`;
    });
    const label =
      index % labelEvery === 0
        ? `<text x="${fixed(x + barWidth / 2)}" y="${HEIGHT - MARGIN.bottom + 16}" text-anchor="middle" class="tick">${escapeHtml(week.weekStart.slice(5))}</text>`
        : "";
    return segments.join("") + label;
  });
  const legendAreas = AREAS.filter((area) => weeks.some((w) => (w.byArea[area] ?? 0) > 0));
  const summary = `Findings per week, by checklist area, from the week of ${weeks[0]?.weekStart} to the week of ${weeks.at(-1)?.weekStart}; the busiest week had ${Math.max(...totals)}.`;
  return figure(
    svg(summary, [
      ...axis(max, y),
      ...bars,
      `<text x="${MARGIN.left}" y="${HEIGHT - 8}" class="axis-title">Week starting (month-day, UTC)</text>`,
    ]),
    legend(legendAreas.map((area) => [AREA_COLOURS[area], areaTitle(area)])),
  );
}

/** Bars: how many fixes took how long, from the change to the verified fix. */
export function timeToRemediateChart(buckets: readonly DurationBucket[]): string {
  const total = buckets.reduce((sum, b) => sum + b.count, 0);
  if (total === 0) return `<p class="empty">No fix was verified in this period, so there are no times to remediate.</p>`;
  const max = niceMax(Math.max(...buckets.map((b) => b.count)));
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const slot = plotWidth / buckets.length;
  const barWidth = slot * 0.7;
  const y = (value: number) => MARGIN.top + plotHeight - (value / max) * plotHeight;
  const bars = buckets.map((bucket, index) => {
    const x = MARGIN.left + index * slot + (slot - barWidth) / 2;
    const top = y(bucket.count);
    return (
      `<rect x="${fixed(x)}" y="${fixed(top)}" width="${fixed(barWidth)}" height="${fixed(y(0) - top)}" fill="#1f77b4"><title>${escapeHtml(`${bucket.label}: ${bucket.count}`)}</title></rect>` +
      (bucket.count > 0
        ? `<text x="${fixed(x + barWidth / 2)}" y="${fixed(top - 4)}" text-anchor="middle" class="tick">${bucket.count}</text>`
        : "") +
      `<text x="${fixed(x + barWidth / 2)}" y="${HEIGHT - MARGIN.bottom + 16}" text-anchor="middle" class="tick">${escapeHtml(bucket.label)}</text>`
    );
  });
  const summary = `Time to remediate for ${total} verified fixes: ${buckets
    .filter((b) => b.count > 0)
    .map((b) => `${b.count} took ${b.label}`)
    .join(", ")}.`;
  return figure(
    svg(summary, [
      ...axis(max, y),
      ...bars,
      `<text x="${MARGIN.left}" y="${HEIGHT - 8}" class="axis-title">From the change to the verified fix</text>`,
    ]),
  );
}

function svg(summary: string, parts: string[]): string {
  return `<svg viewBox="0 0 ${WIDTH} ${HEIGHT}" width="100%" role="img" aria-label="${escapeHtml(summary)}" xmlns="http://www.w3.org/2000/svg"><title>${escapeHtml(summary)}</title>${parts.join("")}</svg>`;
}

function figure(chart: string, caption = ""): string {
  return `<div class="chart">${chart}${caption}</div>`;
}

function axis(max: number, y: (value: number) => number): string[] {
  const ticks = [0, max / 4, max / 2, (3 * max) / 4, max].filter((t) => Number.isInteger(t));
  return [
    ...ticks.map(
      (tick) =>
        `<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${fixed(y(tick))}" y2="${fixed(y(tick))}" stroke="#d0d7de" stroke-width="1"/>` +
        `<text x="${MARGIN.left - 6}" y="${fixed(y(tick) + 4)}" text-anchor="end" class="tick">${tick}</text>`,
    ),
  ];
}

function legend(items: [string, string][]): string {
  return `<ul class="legend">${items
    .map(
      ([colour, label]) =>
        `<li><svg width="12" height="12" aria-hidden="true"><rect width="12" height="12" fill="${colour}"/></svg>${escapeHtml(label)}</li>`,
    )
    .join("")}</ul>`;
}

/** A round axis maximum at or above `value`: 1, 2, 4, 5 or 10 times a power of ten (so quarter ticks stay whole). */
function niceMax(value: number): number {
  if (value <= 4) return 4;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 4, 5, 10]) {
    const candidate = step * power;
    if (candidate >= value && candidate % 4 === 0) return candidate;
  }
  return Math.ceil(value / (4 * power)) * 4 * power;
}

function fixed(value: number): string {
  return value.toFixed(1);
}
