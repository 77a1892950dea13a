// The operator: API keys (create with a scope, list, rotate, revoke) and the server's
// health; the segment taxonomy, privacy policy versions, and what left the server (the
// outbox, dead-letter webhooks), each a view kept in the address (#/operator/<view>).
// A key's secret is shown once, when it is made.
import { html, useState, useEffect } from "../html.js";
import { api, everything } from "../api.js";
import { t } from "../i18n.js";
import { Field, Checks } from "../ui.js";
import { Taxonomy } from "./taxonomy.js";
import { Policies } from "./policies.js";
import { Deliveries } from "./deliveries.js";

const ROLES = ["store", "tech", "operator"];
const HEALTH = ["status", "database", "redis", "push", "geofences_indexed"];
const VIEWS = ["keys", "taxonomy", "policies", "deliveries"];
const route = () => {
  const m = location.hash.match(/^#\/operator\/(\w+)/);
  return m && VIEWS.includes(m[1]) ? m[1] : "keys";
};

export function OperatorPage({ me, lang }) {
  const [view, setView] = useState(route());
  useEffect(() => {
    const follow = () => setView(route());
    addEventListener("hashchange", follow);
    return () => removeEventListener("hashchange", follow);
  }, []);
  return html`
    <nav class="store-bar" aria-label=${t("op.views")}>
      ${VIEWS.map((v) => html`
        <a href=${`#/operator/${v}`} class="tab" aria-current=${v === view ? "page" : "false"}>${t(`op.view_${v}`)}</a>`)}
    </nav>
    ${view === "taxonomy" ? html`<${Taxonomy} lang=${lang} />`
      : view === "policies" ? html`<${Policies} lang=${lang} />`
      : view === "deliveries" ? html`<${Deliveries} lang=${lang} />`
      : html`<${KeysAndHealth} me=${me} lang=${lang} />`}`;
}

function KeysAndHealth({ me, lang }) {
  const [keys, setKeys] = useState(null);
  const [stores, setStores] = useState([]);
  const [secret, setSecret] = useState(null); // {name, secret}: shown once
  const [status, setStatus] = useState("");
  const [health, setHealth] = useState(null);

  const load = () => everything("/v1/keys").then(setKeys);
  useEffect(() => {
    load();
    everything("/v1/stores").then(setStores);
    api("GET", "/health").then(setHealth, (e) => setHealth({ status: e.message }));
  }, []);

  const act = (call, done) => call.then((key) => {
    if (key && key.secret) setSecret(key);
    setStatus(done(key));
    load();
  }, (e) => setStatus(e.message));
  const rotate = (k) => act(api("POST", `/v1/keys/${k.id}/rotate`), () => t("op.rotated", { name: k.name }));
  const revoke = (k) => act(api("DELETE", `/v1/keys/${k.id}`), () => t("op.revoked", { name: k.name }));
  const storeName = (id) => stores.find((s) => s.id === id)?.name || `#${id}`;
  const when = new Intl.DateTimeFormat(lang, { dateStyle: "short", timeStyle: "short" });

  return html`
    <section class="card" aria-labelledby="health-title">
      <h2 id="health-title">${t("op.health")}</h2>
      ${health ? html`<dl class="health">${HEALTH.filter((k) => k in health).map((k) => html`
        <div><dt>${t(`op.h_${k}`)}</dt><dd data-health=${k}>${health[k]}</dd></div>`)}</dl>`
        : html`<p class="loading">${t("loading")}</p>`}
    </section>
    <div class="offer-layout">
      <section class="card" aria-labelledby="keys-title">
        <h2 id="keys-title">${t("op.keys")}</h2>
        <p class="status" role="status" aria-live="polite">${status}</p>
        ${secret && html`
          <div class="secret" role="alert">
            <p>${t("op.secret", { name: secret.name })}</p>
            <code id="new-secret">${secret.secret}</code>
            <button type="button" onClick=${() => setSecret(null)}>${t("op.secret_done")}</button>
          </div>`}
        ${keys === null ? html`<p class="loading">${t("loading")}</p>` : html`
          <div class="scroll"><table class="keys">
            <thead><tr><th scope="col">${t("op.name")}</th><th scope="col">${t("op.role")}</th>
              <th scope="col">${t("op.scope")}</th><th scope="col">${t("op.state")}</th><th scope="col"><span class="sr-only">${t("op.actions")}</span></th></tr></thead>
            <tbody>${keys.map((k) => html`
              <tr data-key=${k.id}>
                <th scope="row">${k.name}${k.id === me.id ? ` (${t("op.you")})` : ""}</th>
                <td>${t(`role.${k.role}`)}</td>
                <td>${k.role === "operator" || k.all_stores ? t("op.all_stores") : k.store_ids.map(storeName).join(", ") || "—"}</td>
                <td>${k.revoked_at ? t("op.revoked_at", { at: when.format(new Date(k.revoked_at)) }) : t("op.active")}</td>
                <td class="actions">${!k.revoked_at && html`
                  <button type="button" onClick=${() => rotate(k)}>${t("op.rotate")}</button>
                  <button type="button" class="danger" onClick=${() => revoke(k)}>${t("op.revoke")}</button>`}</td>
              </tr>`)}</tbody>
          </table></div>`}
      </section>
      <${NewKey} stores=${stores} onCreated=${(key) => act(Promise.resolve(key), () => t("op.created", { name: key.name }))} />
    </div>`;
}

function NewKey({ stores, onCreated }) {
  const [d, setD] = useState({ name: "", role: "store", store_ids: [], all_stores: false });
  const [errors, setErrors] = useState({});
  const submit = async (event) => {
    event.preventDefault();
    try {
      const body = { ...d, all_stores: d.role === "tech" && d.all_stores, store_ids: d.role === "operator" ? [] : d.store_ids };
      onCreated(await api("POST", "/v1/keys", body));
      setD({ name: "", role: "store", store_ids: [], all_stores: false });
      setErrors({});
    } catch (e) {
      const found = Object.fromEntries(["name", "role", "store_ids", "all_stores"].map((f) => [f, e.about(f)]).filter(([, m]) => m));
      setErrors({ ...found, form: Object.keys(found).length ? t("form.fix") : e.message });
    }
  };
  return html`
    <form class="card" onSubmit=${submit} novalidate aria-labelledby="new-key-title">
      <h2 id="new-key-title">${t("op.new_key")}</h2>
      <p class="form-error" role="alert">${errors.form || ""}</p>
      <${Field} id="key-name" label=${t("op.holder")} error=${errors.name} value=${d.name} onInput=${(e) => setD({ ...d, name: e.target.value })} maxlength="200" />
      <${Field} id="key-role" label=${t("op.role")} error=${errors.role}>
        ${(a) => html`<select ...${a} value=${d.role} onChange=${(e) => setD({ ...d, role: e.target.value })}>
          ${ROLES.map((r) => html`<option value=${r}>${t(`role.${r}`)}</option>`)}</select>`}
      <//>
      ${d.role === "tech" && html`<label><input type="checkbox" checked=${d.all_stores}
        onChange=${(e) => setD({ ...d, all_stores: e.target.checked })} /> ${t("op.fleet")}</label>`}
      ${d.role !== "operator" && !(d.role === "tech" && d.all_stores) && html`
        <${Checks} legend=${t("op.stores")} name="key-stores" values=${d.store_ids} error=${errors.store_ids}
          onChange=${(ids) => setD({ ...d, store_ids: ids })} options=${stores.map((s) => ({ value: s.id, label: s.name }))} />`}
      <button type="submit">${t("op.create")}</button>
    </form>`;
}
