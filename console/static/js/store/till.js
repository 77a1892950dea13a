// The till: confirm a shopper's offer code, report a purchase made with a code or purchase
// token, look a purchase up and refund it. The API's answer is shown beside each form and
// its refusal beside the field it concerns; the store never learns who the shopper is.
import { html, useState } from "../html.js";
import { api } from "../api.js";
import { t } from "../i18n.js";
import { Field } from "../ui.js";
import { money } from "./catalogue.js";

const when = (iso) => (iso ? new Date(iso).toLocaleString() : "");

/** The field a refusal concerns: a schema problem naming it, a domain sentence opening
 * with it, or else ``fallback`` (e.g. the code, for "no such code" and "already used"). */
function fieldErrors(e, fields, fallback) {
  const found = Object.fromEntries(fields.map((f) => [f, e.about(f)]));
  // "items[0]: store 3 has no SKU …": the catalogue check names the item by its place.
  if (fields.includes("items") && !found.items && e.detail.startsWith("items[")) found.items = e.detail;
  if (!Object.values(found).some(Boolean)) found[fallback] = e.detail;
  return found;
}

function Redeem({ store }) {
  const [code, setCode] = useState("");
  const [error, setError] = useState("");
  const [done, setDone] = useState(null);
  const submit = async (event) => {
    event.preventDefault();
    setDone(null);
    try {
      setDone(await api("POST", `/v1/stores/${store.id}/redemptions`, { code }));
      setError("");
      setCode("");
    } catch (e) {
      setError(e.about("code") || e.detail);
    }
  };
  return html`
    <form class="card" onSubmit=${submit} novalidate aria-labelledby="redeem-title">
      <h2 id="redeem-title">${t("till.redeem")}</h2>
      <${Field} id="redeem-code" label=${t("till.code")} hint=${t("till.h_code")} error=${error}
        value=${code} onInput=${(e) => setCode(e.target.value)} autocomplete="off" required />
      <div class="actions"><button type="submit">${t("till.confirm")}</button></div>
      <p class="answer" role="status" aria-live="polite">${done && t("till.redeemed", { code: done.code, title: done.offer_title, at: when(done.redeemed_at) })}</p>
    </form>`;
}

function PurchaseAnswer({ purchase, onRefund }) {
  const p = purchase;
  return html`
    <dl class="purchase" data-purchase=${p.store_purchase_id}>
      <dt>${t("till.purchase_id")}</dt><dd>${p.store_purchase_id}</dd>
      <dt>${t("till.amount")}</dt><dd>${money(p.amount_minor, p.currency)} ${p.currency}</dd>
      <dt>${t("till.attributed")}</dt><dd>${p.attributed ? t("yes") : t("no")}</dd>
      <dt>${t("till.points")}</dt><dd>${p.points} (${p.status})</dd>
      <dt>${t("till.recorded")}</dt><dd>${when(p.created_at)}</dd>
      ${p.refunded_at && html`<dt>${t("till.refunded_at")}</dt><dd>${when(p.refunded_at)}</dd>`}
    </dl>
    ${!p.refunded_at && html`<button type="button" class="danger" onClick=${onRefund}>${t("till.refund")}</button>`}`;
}

const PURCHASE_FIELDS = ["code", "store_purchase_id", "amount", "currency", "items"];

function Purchase({ store }) {
  const blank = { code: "", store_purchase_id: "", amount: "", currency: "EUR", items: "" };
  const [d, setD] = useState(blank);
  const [errors, setErrors] = useState({});
  const [done, setDone] = useState(null);
  const [status, setStatus] = useState("");
  const set = (field) => (e) => setD({ ...d, [field]: e.target.value });
  const submit = async (event) => {
    event.preventDefault();
    setDone(null);
    const body = {
      ...d, currency: d.currency.trim().toUpperCase(),
      items: d.items.split(",").map((s) => s.trim()).filter(Boolean).map((sku) => ({ sku })),
    };
    try {
      const purchase = await api("POST", `/v1/stores/${store.id}/purchases`, body);
      setErrors({});
      setDone(purchase);
      setStatus(t("till.recorded_as", { id: purchase.store_purchase_id }));
    } catch (e) {
      setErrors(fieldErrors(e, PURCHASE_FIELDS, e.status === 409 && e.detail.startsWith("purchase") ? "store_purchase_id" : "code"));
      setStatus("");
    }
  };
  const refund = () => api("POST", `/v1/stores/${store.id}/purchases/${encodeURIComponent(done.store_purchase_id)}/refund`).then(
    (p) => { setDone(p); setStatus(t("till.refunded", { id: p.store_purchase_id })); },
    (e) => setStatus(e.detail),
  );
  return html`
    <form class="card" onSubmit=${submit} novalidate aria-labelledby="purchase-title">
      <h2 id="purchase-title">${t("till.purchase")}</h2>
      <${Field} id="purchase-code" label=${t("till.purchase_code")} error=${errors.code} value=${d.code} onInput=${set("code")} autocomplete="off" required />
      <${Field} id="purchase-id" label=${t("till.purchase_id")} hint=${t("till.h_purchase_id")} error=${errors.store_purchase_id} value=${d.store_purchase_id} onInput=${set("store_purchase_id")} maxlength="64" required />
      <div class="row">
        <${Field} id="purchase-amount" label=${t("till.amount")} hint=${t("item.h_price")} error=${errors.amount} value=${d.amount} onInput=${set("amount")} inputmode="decimal" required />
        <${Field} id="purchase-currency" label=${t("item.currency")} error=${errors.currency} value=${d.currency} onInput=${set("currency")} maxlength="3" required />
      </div>
      <${Field} id="purchase-items" label=${t("till.items")} hint=${t("till.h_items")} error=${errors.items} value=${d.items} onInput=${set("items")} required />
      <div class="actions"><button type="submit">${t("till.record")}</button></div>
      <p class="answer" role="status" aria-live="polite">${status}</p>
      ${done && html`<${PurchaseAnswer} purchase=${done} onRefund=${refund} />`}
    </form>`;
}

function Lookup({ store }) {
  const [id, setId] = useState("");
  const [error, setError] = useState("");
  const [found, setFound] = useState(null);
  const [status, setStatus] = useState("");
  const path = (p) => `/v1/stores/${store.id}/purchases/${encodeURIComponent(p)}`;
  const submit = async (event) => {
    event.preventDefault();
    setFound(null);
    setStatus("");
    try {
      setFound(await api("GET", path(id.trim())));
      setError("");
    } catch (e) {
      setError(e.detail);
    }
  };
  const refund = () => api("POST", `${path(found.store_purchase_id)}/refund`).then(
    (p) => { setFound(p); setStatus(t("till.refunded", { id: p.store_purchase_id })); },
    (e) => setStatus(e.detail),
  );
  return html`
    <form class="card" onSubmit=${submit} novalidate aria-labelledby="lookup-title">
      <h2 id="lookup-title">${t("till.lookup")}</h2>
      <${Field} id="lookup-id" label=${t("till.purchase_id")} error=${error} value=${id} onInput=${(e) => setId(e.target.value)} maxlength="64" required />
      <div class="actions"><button type="submit">${t("till.find")}</button></div>
      <p class="answer" role="status" aria-live="polite">${status}</p>
      ${found && html`<${PurchaseAnswer} purchase=${found} onRefund=${refund} />`}
    </form>`;
}

export function Till({ store }) {
  return html`
    <p class="hint">${t("till.anonymous")}</p>
    <div class="till">
      <${Redeem} store=${store} />
      <${Purchase} store=${store} />
      <${Lookup} store=${store} />
    </div>`;
}
