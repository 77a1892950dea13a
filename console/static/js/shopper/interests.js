// What the shopper follows (interests, kept until changed) and what they turned on for a
// while (activations, which lapse by themselves).
import { html, useState, useEffect } from "../html.js";
import { api } from "../api.js";
import { t } from "../i18n.js";
import { Field, Checks } from "../ui.js";

/** The taxonomy in reading order: each segment followed by its children (depth first),
 * with its depth; one whose parent is missing is listed at the top level, not lost. */
export function treeOrder(segments) {
  const known = new Set(segments.map((s) => s.slug));
  const out = [];
  const walk = (parent, depth) => segments
    .filter((s) => (parent === null ? !s.parent || !known.has(s.parent) : s.parent === parent))
    .forEach((seg) => { out.push({ seg, depth }); if (depth < 20) walk(seg.slug, depth + 1); });
  walk(null, 0);
  return out;
}

export function Interests({ segments, label }) {
  const [chosen, setChosen] = useState(null);
  const [status, setStatus] = useState("");
  const [error, setError] = useState(null);
  useEffect(() => { api("GET", "/v1/me/interests").then((r) => setChosen(r.segments)); }, []);
  const save = async (event) => {
    event.preventDefault();
    setError(null);
    try {
      const saved = await api("PUT", "/v1/me/interests", { segments: chosen });
      setChosen(saved.segments);
      setStatus(t("me.interests_saved", { n: saved.segments.length }));
    } catch (e) {
      setError(e.about("segments") || e.message);
      setStatus("");
    }
  };
  return html`
    <section class="card" id="me-interests" aria-labelledby="interests-title">
      <h2 id="interests-title">${t("me.interests")}</h2>
      <p>${t("me.interests_intro")}</p>
      ${segments === null || chosen === null ? html`<p class="loading">${t("loading")}</p>` : html`
        <form onSubmit=${save} novalidate>
          <${Checks} legend=${t("me.interests_legend")} name="interests" className="segments"
            values=${chosen} onChange=${setChosen} error=${error}
            options=${treeOrder(segments).map(({ seg, depth }) => ({ value: seg.slug, label: label(seg), indent: depth > 0 }))} />
          <button type="submit">${t("me.interests_save")}</button>
          <p class="status" role="status" aria-live="polite">${status}</p>
        </form>`}
    </section>`;
}

/** Tomorrow at this hour, as a datetime-local value (the form's default end). */
function tomorrow() {
  const at = new Date(Date.now() + 24 * 3600 * 1000);
  at.setSeconds(0, 0);
  return new Date(at.getTime() - at.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
}

export function Activations({ segments, label, lang }) {
  const [items, setItems] = useState(null);
  const [d, setD] = useState({ segment: "", until: tomorrow() });
  const [errors, setErrors] = useState({});
  const [status, setStatus] = useState("");
  const load = () => api("GET", "/v1/me/activations").then(setItems);
  useEffect(() => { load(); }, []);
  const when = new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "short" });
  const name = (a) => (lang === "fr" ? a.label_fr : a.label_en);

  const add = async (event) => {
    event.preventDefault();
    const until = d.until ? new Date(d.until) : null;
    if (!d.segment || !until || Number.isNaN(until.getTime())) {
      setErrors({ segment: d.segment ? null : t("me.act_pick"), until: until && !Number.isNaN(until.getTime()) ? null : t("me.act_when") });
      return;
    }
    try {
      const made = await api("POST", "/v1/me/activations", { segment: d.segment, until: until.toISOString() });
      setErrors({});
      setStatus(t("me.act_added", { name: name(made) }));
      load();
    } catch (e) {
      const found = { segment: e.about("segment"), until: e.about("until") };
      setErrors(found.segment || found.until ? found : { form: e.message });
    }
  };
  const end = async (a) => {
    await api("DELETE", `/v1/me/activations/${a.id}`);
    setStatus(t("me.act_ended", { name: name(a) }));
    load();
  };
  return html`
    <section class="card" id="me-activations" aria-labelledby="activations-title">
      <h2 id="activations-title">${t("me.activations")}</h2>
      <p>${t("me.activations_intro")}</p>
      <p class="status" role="status" aria-live="polite">${status}</p>
      ${items === null ? html`<p class="loading">${t("loading")}</p>`
        : items.length === 0 ? html`<p class="empty">${t("me.act_none")}</p>`
        : html`<ul class="plain">${items.map((a) => html`
            <li data-activation=${a.id}>
              <strong>${name(a)}</strong> · ${t("me.act_until", { at: when.format(new Date(a.until)) })}
              <button type="button" class="danger" onClick=${() => end(a)}>${t("me.act_end")}</button>
            </li>`)}</ul>`}
      ${segments && html`
        <form class="row" onSubmit=${add} novalidate aria-label=${t("me.act_new")}>
          <${Field} id="act-segment" label=${t("me.act_segment")} error=${errors.segment}>
            ${(a) => html`<select ...${a} value=${d.segment} onChange=${(e) => setD({ ...d, segment: e.target.value })}>
              <option value="">—</option>
              ${treeOrder(segments).map(({ seg, depth }) => html`<option value=${seg.slug}>${depth ? "· " : ""}${label(seg)}</option>`)}
            </select>`}
          <//>
          <${Field} id="act-until" label=${t("me.act_until_label")} error=${errors.until} type="datetime-local"
            value=${d.until} onInput=${(e) => setD({ ...d, until: e.target.value })} />
          <div class="field end"><button type="submit">${t("me.act_add")}</button></div>
          <p class="form-error" role="alert">${errors.form || ""}</p>
        </form>`}
    </section>`;
}
