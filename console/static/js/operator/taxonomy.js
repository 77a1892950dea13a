// The segment taxonomy: what shoppers can follow and offers can target. Segments are
// listed as a tree; each can be relabelled (English, French), moved under another parent,
// or deleted when it has no children and no offer targets it.
import { html, useState, useEffect } from "../html.js";
import { api } from "../api.js";
import { t } from "../i18n.js";
import { Field } from "../ui.js";
import { treeOrder } from "../shopper/interests.js";

const FIELDS = ["slug", "parent", "label_en", "label_fr"];
const BLANK = { slug: "", parent: "", label_en: "", label_fr: "" };

/** The API's refusal as errors beside the fields it names, else a sentence for the form. */
function problems(e, fields) {
  const found = Object.fromEntries(fields.map((f) => [f, e.about(f)]).filter(([, m]) => m));
  return { ...found, form: Object.keys(found).length ? t("form.fix") : e.message };
}

export function Taxonomy({ lang }) {
  const [segments, setSegments] = useState(null);
  const [editing, setEditing] = useState(null); // a segment's slug
  const [status, setStatus] = useState("");
  const [rowError, setRowError] = useState({}); // {slug, message}: a refused delete
  const load = () => api("GET", "/v1/segments").then(setSegments);
  useEffect(() => { load(); }, []);
  const label = (s) => (lang === "fr" ? s.label_fr : s.label_en);
  const done = (said) => { setStatus(said); setRowError({}); load(); };
  const remove = async (s) => {
    try {
      await api("DELETE", `/v1/segments/${s.slug}`);
      if (editing === s.slug) setEditing(null);
      done(t("tax.deleted", { name: label(s) }));
    } catch (e) {
      setRowError({ slug: s.slug, message: e.message });
    }
  };
  return html`
    <div class="offer-layout">
      <section class="card" aria-labelledby="tax-title">
        <h2 id="tax-title">${t("tax.title")}</h2>
        <p class="hint">${t("tax.intro")}</p>
        <p class="status" role="status" aria-live="polite">${status}</p>
        ${segments === null ? html`<p class="loading">${t("loading")}</p>` : html`
          <div class="scroll"><table class="taxonomy">
            <thead><tr><th scope="col">${t("tax.label_en")}</th><th scope="col">${t("tax.label_fr")}</th>
              <th scope="col">${t("tax.slug")}</th><th scope="col"><span class="sr-only">${t("op.actions")}</span></th></tr></thead>
            <tbody>${treeOrder(segments).map(({ seg, depth }) => html`
              <tr data-segment=${seg.slug} class=${`depth-${Math.min(depth, 3)}`}>
                <th scope="row">${seg.label_en}</th><td lang="fr">${seg.label_fr}</td><td><code>${seg.slug}</code></td>
                <td class="actions">
                  <button type="button" aria-label=${t("tax.edit_named", { name: seg.label_en })} onClick=${() => setEditing(seg.slug)}>${t("edit")}</button>
                  <button type="button" class="danger" aria-label=${t("tax.delete_named", { name: seg.label_en })}
                    aria-describedby=${`seg-${seg.slug}-error`} onClick=${() => remove(seg)}>${t("delete")}</button>
                  <p id=${`seg-${seg.slug}-error`} class="field-error" role="alert">${rowError.slug === seg.slug ? rowError.message : ""}</p>
                </td>
              </tr>`)}</tbody>
          </table></div>`}
      </section>
      <div>
        ${segments && editing && segments.some((s) => s.slug === editing) && html`
          <${Relabel} key=${editing} segment=${segments.find((s) => s.slug === editing)} segments=${segments}
            onSaved=${(s) => { setEditing(null); done(t("tax.saved", { name: label(s) })); }} onCancel=${() => setEditing(null)} />`}
        ${segments && html`<${NewSegment} segments=${segments} onCreated=${(s) => done(t("tax.created", { name: label(s) }))} />`}
      </div>
    </div>`;
}

function ParentField({ id, value, segments, except, error, onChange }) {
  return html`
    <${Field} id=${id} label=${t("tax.parent")} error=${error} hint=${t("tax.h_parent")}>
      ${(a) => html`<select ...${a} value=${value} onChange=${(e) => onChange(e.target.value)}>
        <option value="">${t("tax.top")}</option>
        ${treeOrder(segments).filter(({ seg }) => seg.slug !== except).map(({ seg, depth }) => html`
          <option value=${seg.slug}>${"· ".repeat(depth)}${seg.label_en}</option>`)}
      </select>`}
    <//>`;
}

function NewSegment({ segments, onCreated }) {
  const [d, setD] = useState(BLANK);
  const [errors, setErrors] = useState({});
  const submit = async (event) => {
    event.preventDefault();
    try {
      const made = await api("POST", "/v1/segments", { ...d, parent: d.parent || null });
      setD(BLANK);
      setErrors({});
      onCreated(made);
    } catch (e) {
      // A conflict on creation is always the identifier: it is taken.
      setErrors(e.status === 409 ? { slug: e.message } : problems(e, FIELDS));
    }
  };
  const set = (field) => (e) => setD({ ...d, [field]: e.target.value });
  return html`
    <form class="card" onSubmit=${submit} novalidate aria-labelledby="new-seg-title">
      <h2 id="new-seg-title">${t("tax.new")}</h2>
      <p class="form-error" role="alert">${errors.form || ""}</p>
      <${Field} id="seg-slug" label=${t("tax.slug")} hint=${t("tax.h_slug")} error=${errors.slug} value=${d.slug} onInput=${set("slug")} maxlength="64" />
      <${ParentField} id="seg-parent" value=${d.parent} segments=${segments} error=${errors.parent} onChange=${(v) => setD({ ...d, parent: v })} />
      <${Field} id="seg-label-en" label=${t("tax.label_en")} error=${errors.label_en} value=${d.label_en} onInput=${set("label_en")} maxlength="120" />
      <${Field} id="seg-label-fr" label=${t("tax.label_fr")} error=${errors.label_fr} value=${d.label_fr} onInput=${set("label_fr")} maxlength="120" lang="fr" />
      <button type="submit">${t("tax.create")}</button>
    </form>`;
}

function Relabel({ segment, segments, onSaved, onCancel }) {
  const [d, setD] = useState({ parent: segment.parent || "", label_en: segment.label_en, label_fr: segment.label_fr });
  const [errors, setErrors] = useState({});
  // Opened from the row's Edit button: the keyboard's focus goes to the form.
  useEffect(() => { document.getElementById("edit-label-en")?.focus(); }, []);
  const submit = async (event) => {
    event.preventDefault();
    const body = { label_en: d.label_en, label_fr: d.label_fr };
    if ((segment.parent || "") !== d.parent) body.parent = d.parent || null; // only a real move
    try {
      onSaved(await api("PATCH", `/v1/segments/${segment.slug}`, body));
    } catch (e) {
      setErrors(problems(e, FIELDS));
    }
  };
  const set = (field) => (e) => setD({ ...d, [field]: e.target.value });
  return html`
    <form class="card" onSubmit=${submit} novalidate aria-labelledby="edit-seg-title">
      <h2 id="edit-seg-title">${t("tax.edit", { slug: segment.slug })}</h2>
      <p class="form-error" role="alert">${errors.form || ""}</p>
      <${Field} id="edit-label-en" label=${t("tax.label_en")} error=${errors.label_en} value=${d.label_en} onInput=${set("label_en")} maxlength="120" />
      <${Field} id="edit-label-fr" label=${t("tax.label_fr")} error=${errors.label_fr} value=${d.label_fr} onInput=${set("label_fr")} maxlength="120" lang="fr" />
      <${ParentField} id="edit-parent" value=${d.parent} segments=${segments} except=${segment.slug} error=${errors.parent} onChange=${(v) => setD({ ...d, parent: v })} />
      <div class="actions"><button type="submit">${t("save")}</button>
        <button type="button" class="danger" onClick=${onCancel}>${t("cancel")}</button></div>
    </form>`;
}
