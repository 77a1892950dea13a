// A store's activity: the funnel per offer and look, and a chart of each hour's pushes,
// from GET /v1/stores/{id}/stats (anonymous counts, the last minute's included).
import { html, useState, useEffect, useRef, useMemo } from "../html.js";
import { api } from "../api.js";
import { t } from "../i18n.js";

const HOUR = 3600 * 1000;
const STEPS = ["eligible", "held_out", "sent", "delivered", "opened", "redeemed"];
const SERIES = [["sent", "#1f5fa8"], ["delivered", "#2e7d32"], ["opened", "#b35c00"], ["redeemed", "#6a1b9a"]];
const RANGES = { day: 24, week: 24 * 7 };
const REFRESH_MS = 30000;

/** Every hour of the range with the counts summed over offers and looks (zeros included). */
export function hourly(stats, from, hours) {
  const rows = Array.from({ length: hours }, (_, i) => ({ at: from + i * HOUR, counts: {} }));
  for (const subject of stats.subjects) {
    for (const bucket of subject.series) {
      const row = rows[Math.floor((Date.parse(bucket.start) - from) / HOUR)];
      if (!row) continue;
      for (const [metric, n] of Object.entries(bucket.counts)) row.counts[metric] = (row.counts[metric] || 0) + n;
    }
  }
  return rows;
}

function Chart({ rows, lang }) {
  const box = useRef(null);
  useEffect(() => {
    const width = Math.max(280, box.current.clientWidth);
    const data = [rows.map((r) => r.at / 1000), ...SERIES.map(([m]) => rows.map((r) => r.counts[m] || 0))];
    const plot = new uPlot({
      width, height: 220, legend: { show: true },
      series: [{}, ...SERIES.map(([m, stroke]) => ({ label: t(`metric.${m}`), stroke, width: 2 }))],
      axes: [{}, { label: t("activity.pushes"), incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000] }],
      scales: { y: { range: (u, lo, hi) => [0, Math.max(1, hi)] } },
    }, data, box.current);
    return () => plot.destroy();
  }, [rows, lang]);
  return html`<div ref=${box} class="chart" role="img" aria-label=${t("activity.chart")}></div>`;
}

const lift = (l) => (l.lift == null ? "—" : `${l.lift > 0 ? "+" : ""}${Math.round(l.lift * 100)} %`);

export function Activity({ store, lang }) {
  const [range, setRange] = useState("day");
  const [stats, setStats] = useState(null);
  const [error, setError] = useState(null);
  const hours = RANGES[range];
  const to = Math.floor(Date.now() / HOUR) * HOUR + HOUR;
  const from = to - hours * HOUR;
  const load = () => api("GET", `/v1/stores/${store.id}/stats?from=${new Date(from).toISOString()}&to=${new Date(to).toISOString()}&granularity=hour`)
    .then((s) => { setStats(s); setError(null); }, (e) => setError(e.message));
  useEffect(() => {
    load();
    const timer = setInterval(load, REFRESH_MS);
    return () => clearInterval(timer);
  }, [range]);

  const rows = useMemo(() => (stats ? hourly(stats, from, hours) : []), [stats]);
  const time = new Intl.DateTimeFormat(lang, { weekday: "short", hour: "2-digit", minute: "2-digit" });
  return html`
    <section class="card" aria-labelledby="activity-title">
      <div class="section-head">
        <h2 id="activity-title">${t("activity.title")}</h2>
        <label for="activity-range">${t("activity.range")}</label>
        <select id="activity-range" value=${range} onChange=${(e) => setRange(e.target.value)}>
          ${Object.keys(RANGES).map((r) => html`<option value=${r}>${t(`activity.${r}`)}</option>`)}
        </select>
        <button type="button" onClick=${load}>${t("refresh")}</button>
      </div>
      <p class="hint">${t("activity.anonymous")}</p>
      <p class="form-error" role="alert">${error || ""}</p>
      ${stats && html`
        <h3>${t("activity.funnel")}</h3>
        <div class="scroll">
          <table class="funnel">
            <thead><tr><th scope="col">${t("activity.subject")}</th>
              ${STEPS.map((m) => html`<th scope="col">${t(`metric.${m}`)}</th>`)}<th scope="col">${t("metric.lift")}</th></tr></thead>
            <tbody>
              ${stats.subjects.length === 0 && html`<tr><td colspan=${STEPS.length + 2}>${t("activity.nothing")}</td></tr>`}
              ${stats.subjects.map((s) => html`
                <tr data-subject=${`${s.subject}-${s.id}`}>
                  <th scope="row">${s.subject === "offer" ? s.title || `#${s.id}` : t("activity.look", { id: s.id })}</th>
                  ${STEPS.map((m) => html`<td data-metric=${m}>${s.totals[m] || 0}</td>`)}
                  <td data-metric="lift">${lift(s.lift)}</td>
                </tr>`)}
            </tbody>
          </table>
        </div>
        <h3>${t("activity.per_hour")}</h3>
        <${Chart} rows=${rows} lang=${lang} />
        <details>
          <summary>${t("activity.as_table")}</summary>
          <table class="hours">
            <thead><tr><th scope="col">${t("activity.hour")}</th>${SERIES.map(([m]) => html`<th scope="col">${t(`metric.${m}`)}</th>`)}</tr></thead>
            <tbody>${rows.filter((r) => Object.keys(r.counts).length).map((r) => html`
              <tr><th scope="row">${time.format(r.at)}</th>${SERIES.map(([m]) => html`<td>${r.counts[m] || 0}</td>`)}</tr>`)}</tbody>
          </table>
        </details>`}
    </section>`;
}
