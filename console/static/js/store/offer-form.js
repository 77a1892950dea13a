// Create or change an offer (the API's OfferCreate / OfferUpdate), with the push previewed
// as a phone shows it and the "why" sentence the shopper will read.
import { html, useState } from "../html.js";
import { api } from "../api.js";
import { t } from "../i18n.js";
import { Field, Checks } from "../ui.js";
import { PushPreview } from "./preview.js";

const TRIGGERS = ["enter", "dwell", "exit", "tap"];
const DAYS = [0, 1, 2, 3, 4, 5, 6];
const CONFIDENCES = ["", "low", "medium", "high"]; // "": any (null)

/** The form's fields, from an offer (or defaults for a new one). */
function draftOf(o) {
  const s = o.schedule;
  const local = (iso) => (iso ? new Date(new Date(iso).getTime() - new Date().getTimezoneOffset() * 60000).toISOString().slice(0, 16) : "");
  return {
    title: o.title || "", body: o.body || "", deep_link: o.deep_link || "",
    segments: o.segments || [], trigger: o.trigger || "enter",
    geofence_ids: o.geofence_ids || [], zones: o.zones || [],
    scheduled: Boolean(s), days: s ? s.days : DAYS, start: s ? s.start : "09:00", end: s ? s.end : "19:00",
    max_sends: o.max_sends ?? "", max_sends_per_day: o.max_sends_per_day ?? "",
    holdout_pct: o.holdout_pct ?? 0, priority: o.priority ?? 0, dwell_minutes: o.dwell_minutes ?? "",
    place_bound: o.place_bound ?? true, active: o.active ?? true, min_confidence: o.min_confidence || "",
    starts_at: local(o.starts_at), ends_at: local(o.ends_at),
  };
}

/** The API's body for a draft: empty budgets and dates are null (no limit, none). */
function bodyOf(d) {
  const number = (v) => (v === "" || v == null ? null : Number(v));
  const instant = (v) => (v ? new Date(v).toISOString() : null);
  return {
    title: d.title, body: d.body, deep_link: d.deep_link.trim() || null,
    segments: d.segments, trigger: d.trigger, geofence_ids: d.geofence_ids, zones: d.zones,
    schedule: d.scheduled ? { days: d.days, start: d.start, end: d.end } : null,
    max_sends: number(d.max_sends), max_sends_per_day: number(d.max_sends_per_day),
    holdout_pct: number(d.holdout_pct) ?? 0, priority: number(d.priority) ?? 0,
    dwell_minutes: d.trigger === "dwell" ? number(d.dwell_minutes) : null,
    place_bound: d.place_bound, active: d.active, min_confidence: d.min_confidence || null,
    starts_at: instant(d.starts_at), ends_at: instant(d.ends_at),
  };
}

const FIELDS = ["title", "body", "deep_link", "segments", "trigger", "geofence_ids", "zones", "schedule",
  "max_sends", "max_sends_per_day", "holdout_pct", "priority", "place_bound", "starts_at", "ends_at",
  "dwell_minutes", "min_confidence"];

export function OfferForm({ store, offer, segments, zones, features, lang, onSaved, onCancel }) {
  const [d, setD] = useState(() => draftOf(offer));
  const [errors, setErrors] = useState({});
  const [busy, setBusy] = useState(false);
  const set = (field) => (e) => setD({ ...d, [field]: e.target.type === "checkbox" ? e.target.checked : e.target.value });
  const pick = (field) => (values) => setD({ ...d, [field]: values });

  const submit = async (event) => {
    event.preventDefault();
    setBusy(true);
    try {
      const saved = offer.id
        ? await api("PATCH", `/v1/offers/${offer.id}`, bodyOf(d))
        : await api("POST", `/v1/stores/${store.id}/offers`, bodyOf(d));
      onSaved(saved);
    } catch (e) {
      const found = Object.fromEntries(FIELDS.map((f) => [f, e.about ? e.about(f) : null]).filter(([, m]) => m));
      // A refusal naming no field (an unknown segment, a zone without a beacon) heads the form.
      setErrors({ ...found, form: Object.keys(found).length ? t("form.fix") : e.message });
    } finally {
      setBusy(false);
    }
  };

  const label = (s) => (lang === "fr" ? s.label_fr : s.label_en);
  const segmentOptions = segments.filter((s) => !s.parent).flatMap((top) => [
    { value: top.slug, label: label(top) },
    ...segments.filter((s) => s.parent === top.slug).map((s) => ({ value: s.slug, label: label(s), indent: true })),
  ]);
  return html`
    <div class="offer-layout">
      <form class="card offer-form" onSubmit=${submit} novalidate aria-labelledby="offer-form-title">
        <h2 id="offer-form-title">${offer.id ? t("offer.edit", { title: offer.title }) : t("offer.new")}</h2>
        <p class="form-error" role="alert">${errors.form || ""}</p>
        <${Field} id="offer-title" label=${t("offer.f_title")} error=${errors.title} value=${d.title} onInput=${set("title")} maxlength="120" required />
        <${Field} id="offer-body" label=${t("offer.f_body")} error=${errors.body}>
          ${(a) => html`<textarea ...${a} rows="3" maxlength="1000" value=${d.body} onInput=${set("body")}></textarea>`}
        <//>
        <${Field} id="offer-link" label=${t("offer.f_link")} hint=${t("offer.h_link")} error=${errors.deep_link} value=${d.deep_link} onInput=${set("deep_link")} />
        <${Checks} legend=${t("offer.f_segments")} name="offer-segments" className="segments" options=${segmentOptions}
          values=${d.segments} onChange=${pick("segments")} error=${errors.segments} />
        <${Field} id="offer-trigger" label=${t("offer.f_trigger")} error=${errors.trigger}>
          ${(a) => html`<select ...${a} value=${d.trigger} onChange=${set("trigger")}>
            ${TRIGGERS.map((v) => html`<option value=${v}>${t(`trigger.${v}`)}</option>`)}</select>`}
        <//>
        ${d.trigger === "dwell" && html`<${Field} id="offer-dwell" type="number" min="1" max="720"
          label=${t("offer.f_dwell")} hint=${t("offer.h_dwell")} error=${errors.dwell_minutes}
          value=${d.dwell_minutes} onInput=${set("dwell_minutes")} />`}
        <${Field} id="offer-confidence" label=${t("offer.f_confidence")} hint=${t("offer.h_confidence")} error=${errors.min_confidence}>
          ${(a) => html`<select ...${a} value=${d.min_confidence} onChange=${set("min_confidence")}>
            ${CONFIDENCES.map((v) => html`<option value=${v}>${t(`confidence.${v || "any"}`)}</option>`)}</select>`}
        <//>
        <${Checks} legend=${t("offer.f_fences")} name="offer-fences" values=${d.geofence_ids} onChange=${pick("geofence_ids")}
          options=${features.map((f) => ({ value: f.id, label: f.properties.name }))} error=${errors.geofence_ids} />
        ${zones.length > 0 && html`<${Checks} legend=${t("offer.f_zones")} name="offer-zones" values=${d.zones}
          onChange=${pick("zones")} options=${zones.map((z) => ({ value: z, label: z }))} error=${errors.zones} />`}
        <p class="hint">${t("offer.h_where")}</p>
        <fieldset>
          <legend>${t("offer.f_schedule")}</legend>
          <label><input type="checkbox" checked=${d.scheduled} onChange=${set("scheduled")} /> ${t("offer.scheduled")}</label>
          ${d.scheduled && html`
            <${Checks} legend=${t("offer.f_days")} name="offer-days" values=${d.days} onChange=${pick("days")}
              options=${DAYS.map((n) => ({ value: n, label: t(`day.${n}`) }))} />
            <div class="row">
              <${Field} id="offer-start" type="time" label=${t("offer.f_start")} value=${d.start} onInput=${set("start")} />
              <${Field} id="offer-end" type="time" label=${t("offer.f_end")} value=${d.end} onInput=${set("end")} />
            </div>`}
          <p class="field-error">${errors.schedule || ""}</p>
          <div class="row">
            <${Field} id="offer-starts" type="datetime-local" label=${t("offer.f_starts")} error=${errors.starts_at} value=${d.starts_at} onInput=${set("starts_at")} />
            <${Field} id="offer-ends" type="datetime-local" label=${t("offer.f_ends")} error=${errors.ends_at} value=${d.ends_at} onInput=${set("ends_at")} />
          </div>
        </fieldset>
        <fieldset>
          <legend>${t("offer.f_budget")}</legend>
          <div class="row">
            <${Field} id="offer-max" type="number" min="1" label=${t("offer.f_max")} hint=${t("offer.h_empty")} error=${errors.max_sends} value=${d.max_sends} onInput=${set("max_sends")} />
            <${Field} id="offer-max-day" type="number" min="1" label=${t("offer.f_max_day")} hint=${t("offer.h_empty")} error=${errors.max_sends_per_day} value=${d.max_sends_per_day} onInput=${set("max_sends_per_day")} />
          </div>
          <div class="row">
            <${Field} id="offer-holdout" type="number" min="0" max="50" label=${t("offer.f_holdout")} hint=${t("offer.h_holdout")} error=${errors.holdout_pct} value=${d.holdout_pct} onInput=${set("holdout_pct")} />
            <${Field} id="offer-priority" type="number" min="-100" max="100" label=${t("offer.f_priority")} error=${errors.priority} value=${d.priority} onInput=${set("priority")} />
          </div>
          <label><input type="checkbox" checked=${d.place_bound} onChange=${set("place_bound")} /> ${t("offer.f_place_bound")}</label>
          <p class="hint">${t("offer.h_place_bound")}</p>
          <label><input type="checkbox" checked=${d.active} onChange=${set("active")} /> ${t("offer.f_active")}</label>
        </fieldset>
        <div class="actions">
          <button type="submit" disabled=${busy}>${offer.id ? t("save") : t("offer.publish")}</button>
          <button type="button" onClick=${onCancel}>${t("cancel")}</button>
        </div>
      </form>
      <${PushPreview} store=${store} draft=${d} segments=${segments} features=${features} lang=${lang} />
    </div>`;
}
