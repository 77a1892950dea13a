// A store's catalogue: its items a page at a time, an item's form (create, change), delete,
// and the CSV import with its per-line report beside the upload.
import { html, useState, useEffect } from "../html.js";
import { api } from "../api.js";
import { t } from "../i18n.js";
import { Field } from "../ui.js";

const PAGE = 50;

/** Decimals of a currency's minor unit (EUR 2, JPY 0), as the browser knows them. */
function decimals(currency) {
  try {
    return new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions().maximumFractionDigits;
  } catch {
    return 2;
  }
}

export const money = (minor, currency) => (minor / 10 ** decimals(currency)).toFixed(decimals(currency));

/** "59.90" EUR → 5990; null when it is not a plain decimal with at most the currency's decimals. */
function minorOf(price, currency) {
  const m = price.trim().match(/^(\d+)(?:[.,](\d+))?$/);
  const places = decimals(currency);
  if (!m || (m[2] || "").replace(/0+$/, "").length > places) return null;
  return Number(m[1]) * 10 ** places + Number((m[2] || "").padEnd(places, "0").slice(0, places) || 0);
}

function draftOf(item) {
  return {
    sku: item.sku || "", name: item.name || "", brand: item.brand ? item.brand.name : "",
    segment: item.segment || "", image_url: item.image_url || "",
    price: item.price_minor == null ? "" : money(item.price_minor, item.currency),
    currency: item.currency || "EUR", active: item.active ?? true,
  };
}

function ItemForm({ store, item, segments, lang, onSaved, onCancel }) {
  const [d, setD] = useState(() => draftOf(item));
  const [errors, setErrors] = useState({});
  const set = (field) => (e) => setD({ ...d, [field]: e.target.type === "checkbox" ? e.target.checked : e.target.value });
  const submit = async (event) => {
    event.preventDefault();
    const currency = d.currency.trim().toUpperCase();
    const price_minor = minorOf(d.price, currency);
    if (price_minor === null) {
      setErrors({ price: t("item.bad_price", { n: decimals(currency) }) });
      return;
    }
    const body = {
      sku: d.sku, name: d.name, brand: d.brand.trim() || null, segment: d.segment || null,
      image_url: d.image_url.trim() || null, price_minor, currency, active: d.active,
    };
    try {
      onSaved(item.id ? await api("PATCH", `/v1/items/${item.id}`, body) : await api("POST", `/v1/stores/${store.id}/items`, body));
    } catch (e) {
      const found = {
        sku: e.about("sku"), name: e.about("name"), brand: e.about("brand"), segment: e.about("segment"),
        image_url: e.about("image_url"), price: e.about("price_minor"), currency: e.about("currency"),
      };
      const named = Object.values(found).some(Boolean);
      setErrors({ ...found, form: named ? t("form.fix") : e.detail });
    }
  };
  const label = (s) => (lang === "fr" ? s.label_fr : s.label_en);
  return html`
    <form class="card item-form" onSubmit=${submit} novalidate aria-labelledby="item-form-title">
      <h2 id="item-form-title">${item.id ? t("item.edit", { name: item.name }) : t("item.new")}</h2>
      <p class="form-error" role="alert">${errors.form || ""}</p>
      <div class="row">
        <${Field} id="item-sku" label=${t("item.sku")} error=${errors.sku} value=${d.sku} onInput=${set("sku")} maxlength="64" required />
        <${Field} id="item-name" label=${t("item.name")} error=${errors.name} value=${d.name} onInput=${set("name")} required />
      </div>
      <div class="row">
        <${Field} id="item-price" label=${t("item.price")} hint=${t("item.h_price")} error=${errors.price} value=${d.price} onInput=${set("price")} inputmode="decimal" required />
        <${Field} id="item-currency" label=${t("item.currency")} error=${errors.currency} value=${d.currency} onInput=${set("currency")} maxlength="8" required />
      </div>
      <div class="row">
        <${Field} id="item-brand" label=${t("item.brand")} error=${errors.brand} value=${d.brand} onInput=${set("brand")} maxlength="120" />
        <${Field} id="item-segment" label=${t("item.segment")} error=${errors.segment}>
          ${(a) => html`<select ...${a} value=${d.segment} onChange=${set("segment")}>
            <option value="">${t("item.no_segment")}</option>
            ${segments.map((s) => html`<option value=${s.slug}>${s.parent ? "· " : ""}${label(s)}</option>`)}</select>`}
        <//>
      </div>
      <${Field} id="item-image" type="url" label=${t("item.image")} hint=${t("item.h_image")} error=${errors.image_url} value=${d.image_url} onInput=${set("image_url")} />
      <label><input type="checkbox" checked=${d.active} onChange=${set("active")} /> ${t("item.active")}</label>
      <div class="actions">
        <button type="submit">${t("save")}</button>
        <button type="button" onClick=${onCancel}>${t("cancel")}</button>
      </div>
    </form>`;
}

/** The CSV upload, and beside it what the API made of each line. */
function CsvImport({ store, onImported }) {
  const [file, setFile] = useState(null);
  const [report, setReport] = useState(null);
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const submit = async (event) => {
    event.preventDefault();
    if (!file) { setError(t("csv.pick")); return; }
    setBusy(true);
    setError("");
    setReport(null);
    try {
      const text = await file.text();
      const done = await api("POST", `/v1/stores/${store.id}/items/import`, text, { type: "text/csv" });
      setReport(done);
      onImported();
    } catch (e) {
      setError(e.detail || e.message);
    } finally {
      setBusy(false);
    }
  };
  return html`
    <section class="card" aria-labelledby="csv-title">
      <h2 id="csv-title">${t("csv.title")}</h2>
      <div class="side-by-side">
        <form onSubmit=${submit} novalidate>
          <${Field} id="csv-file" type="file" accept=".csv,text/csv" label=${t("csv.file")} hint=${t("csv.h_file")}
            error=${error} onChange=${(e) => setFile(e.target.files[0] || null)} />
          <div class="actions"><button type="submit" disabled=${busy}>${t("csv.import")}</button></div>
        </form>
        <div class="import-report" role="status" aria-live="polite">
          ${report && html`
            <p>${t("csv.done", report)}</p>
            ${report.rejected.length > 0 && html`
              <div class="scroll"><table>
                <caption>${t("csv.rejected", { n: report.rejected.length })}</caption>
                <thead><tr><th scope="col">${t("csv.line")}</th><th scope="col">${t("item.sku")}</th><th scope="col">${t("csv.reason")}</th></tr></thead>
                <tbody>${report.rejected.map((r) => html`
                  <tr><td>${r.line}</td><td>${r.sku || "—"}</td><td>${r.reason}</td></tr>`)}</tbody>
              </table></div>`}`}
        </div>
      </div>
    </section>`;
}

export function Catalogue({ store, lang }) {
  const [items, setItems] = useState(null);
  const [next, setNext] = useState(null);
  const [segments, setSegments] = useState([]);
  const [editing, setEditing] = useState(null);
  const [status, setStatus] = useState("");

  const load = async (after = 0) => {
    const page = await api("GET", `/v1/stores/${store.id}/items?after=${after}&limit=${PAGE}`);
    setItems((shown) => (after ? [...shown, ...page.items] : page.items));
    setNext(page.next_after);
  };
  useEffect(() => {
    load();
    api("GET", "/v1/segments").then(setSegments, () => setSegments([]));
  }, []);

  const saved = (item) => { setEditing(null); setStatus(t("item.saved", { name: item.name })); load(); };
  const remove = (item) => api("DELETE", `/v1/items/${item.id}`).then(
    () => { setStatus(t("item.deleted", { name: item.name })); load(); },
    (e) => setStatus(e.detail),
  );

  if (editing) {
    return html`<${ItemForm} store=${store} item=${editing} segments=${segments} lang=${lang}
      onSaved=${saved} onCancel=${() => setEditing(null)} />`;
  }
  return html`
    <section class="card" aria-labelledby="items-title">
      <div class="section-head">
        <h2 id="items-title">${t("item.title")}</h2>
        <button type="button" onClick=${() => setEditing({})}>${t("item.new")}</button>
      </div>
      <p class="status" role="status" aria-live="polite">${status}</p>
      ${items === null ? html`<p class="loading">${t("loading")}</p>`
        : items.length === 0 ? html`<p>${t("item.empty")}</p>`
        : html`<div class="scroll"><table class="items">
          <thead><tr>
            <th scope="col">${t("item.sku")}</th><th scope="col">${t("item.name")}</th><th scope="col">${t("item.brand_col")}</th>
            <th scope="col">${t("item.price")}</th><th scope="col">${t("item.state")}</th><th scope="col">${t("op.actions")}</th>
          </tr></thead>
          <tbody>${items.map((i) => html`
            <tr data-item=${i.sku}>
              <td>${i.sku}</td><td>${i.name}</td><td>${i.brand ? i.brand.name : ""}</td>
              <td>${money(i.price_minor, i.currency)} ${i.currency}</td>
              <td>${i.active ? t("offer.active") : t("offer.inactive")}</td>
              <td class="actions">
                <button type="button" onClick=${() => setEditing(i)} aria-label=${t("item.edit", { name: i.name })}>${t("edit")}</button>
                <button type="button" class="danger" onClick=${() => remove(i)} aria-label=${t("item.delete", { name: i.name })}>${t("delete")}</button>
              </td>
            </tr>`)}</tbody>
        </table></div>`}
      ${next != null && html`<button type="button" onClick=${() => load(next)}>${t("more")}</button>`}
    </section>
    <${CsvImport} store=${store} onImported=${() => load()} />`;
}
