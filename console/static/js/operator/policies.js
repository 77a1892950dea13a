// Privacy policy versions: every published one, and publishing the next. A purpose the new
// version changes needs every shopper's consent again before pushes for it go out.
import { html, useState, useEffect } from "../html.js";
import { api } from "../api.js";
import { t } from "../i18n.js";
import { Field, Checks } from "../ui.js";

const PURPOSES = ["location_offers", "beacon_proximity", "friends_looks", "share_id_with_stores"];
const FIELDS = ["version", "summary", "text", "changed_purposes"];
const BLANK = { version: "", summary: "", text: "", changed_purposes: [] };

export function Policies({ lang }) {
  const [versions, setVersions] = useState(null);
  const [current, setCurrent] = useState(null);
  const [status, setStatus] = useState("");
  const load = () => {
    api("GET", "/v1/policies").then(setVersions);
    api("GET", "/v1/policies/current").then(setCurrent);
  };
  useEffect(() => { load(); }, []);
  const when = new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "short" });
  return html`
    <div class="offer-layout">
      <section class="card" aria-labelledby="pol-title">
        <h2 id="pol-title">${t("pol.title")}</h2>
        <p class="status" role="status" aria-live="polite">${status}</p>
        ${current && html`<p>${t("pol.current", { version: current.version })}</p>`}
        ${versions === null ? html`<p class="loading">${t("loading")}</p>`
          : versions.length === 0 ? html`<p class="empty">${t("pol.none")}</p>`
          : html`<ul class="plain">${[...versions].reverse().map((v) => html`
              <li data-policy=${v.version}>
                <strong>${v.version}</strong> · ${when.format(new Date(v.published_at))}
                <p>${v.summary}</p>
                <p class="meta">${v.changed_purposes.length
                  ? t("pol.changed", { purposes: v.changed_purposes.map((p) => t(`pol.p_${p}`)).join(", ") })
                  : t("pol.unchanged")}</p>
                ${v.text && html`<details><summary>${t("pol.full_text")}</summary><p class="policy-text">${v.text}</p></details>`}
              </li>`)}</ul>`}
      </section>
      <${Publish} onPublished=${(v) => { setStatus(t("pol.published", { version: v.version })); load(); }} />
    </div>`;
}

function Publish({ onPublished }) {
  const [d, setD] = useState(BLANK);
  const [errors, setErrors] = useState({});
  const submit = async (event) => {
    event.preventDefault();
    try {
      const made = await api("POST", "/v1/policies", d);
      setD(BLANK);
      setErrors({});
      onPublished(made);
    } catch (e) {
      const found = Object.fromEntries(FIELDS.map((f) => [f, e.about(f)]).filter(([, m]) => m));
      setErrors({ ...found, form: Object.keys(found).length ? t("form.fix") : e.message });
    }
  };
  const set = (field) => (e) => setD({ ...d, [field]: e.target.value });
  return html`
    <form class="card" onSubmit=${submit} novalidate aria-labelledby="publish-title">
      <h2 id="publish-title">${t("pol.new")}</h2>
      <p class="form-error" role="alert">${errors.form || ""}</p>
      <${Field} id="pol-version" label=${t("pol.version")} hint=${t("pol.h_version")} error=${errors.version} value=${d.version} onInput=${set("version")} maxlength="32" />
      <${Field} id="pol-summary" label=${t("pol.summary")} hint=${t("pol.h_summary")} error=${errors.summary}>
        ${(a) => html`<textarea ...${a} rows="3" maxlength="500" value=${d.summary} onInput=${set("summary")}></textarea>`}
      <//>
      <${Field} id="pol-text" label=${t("pol.text")} error=${errors.text}>
        ${(a) => html`<textarea ...${a} rows="6" value=${d.text} onInput=${set("text")}></textarea>`}
      <//>
      <${Checks} legend=${t("pol.changes")} name="pol-purposes" values=${d.changed_purposes} error=${errors.changed_purposes}
        onChange=${(v) => setD({ ...d, changed_purposes: v })} options=${PURPOSES.map((p) => ({ value: p, label: t(`pol.p_${p}`) }))} />
      <p class="hint">${t("pol.h_changes")}</p>
      <button type="submit">${t("pol.publish")}</button>
    </form>`;
}
