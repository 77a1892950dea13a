// A store's webhooks: subscribe an endpoint (its signing secret shown once), unsubscribe,
// and each one's dead letters (deliveries that failed for 24 h) with a replay button.
import { html, useState, useEffect } from "../html.js";
import { api, everything } from "../api.js";
import { t } from "../i18n.js";
import { Field, Checks } from "../ui.js";

// events/core.py EVENT_NAMES: what a webhook may subscribe to.
const EVENTS = [
  "user.entered_geofence", "user.dwelled_in_geofence", "user.exited_geofence",
  "user.entered_beacon_zone", "user.dwelled_in_beacon_zone", "user.exited_beacon_zone",
  "user.tapped_nfc", "push.sent", "push.opened", "offer.redeemed", "points.earned",
];

const when = (iso) => new Date(iso).toLocaleString();

function DeadLetters({ hook }) {
  const [letters, setLetters] = useState(null);
  const [status, setStatus] = useState("");
  const load = () => everything(`/v1/webhooks/${hook.id}/dead-letters`).then(setLetters);
  useEffect(() => { load(); }, []);
  const replay = (letter) => api("POST", `/v1/webhooks/${hook.id}/dead-letters/${letter.id}/replay`).then(
    () => { setStatus(t("hook.replayed", { id: letter.event_id })); load(); },
    (e) => setStatus(e.detail),
  );
  return html`
    <div class="dead-letters">
      <div class="section-head">
        <h4 id=${`dead-${hook.id}`}>${t("hook.dead")}</h4>
        <button type="button" onClick=${() => { setStatus(""); load(); }} aria-describedby=${`dead-${hook.id}`}>${t("refresh")}</button>
      </div>
      <p class="hint">${t("hook.h_dead")}</p>
      <p class="status" role="status" aria-live="polite">${status}</p>
      ${letters === null ? html`<p class="loading">${t("loading")}</p>`
        : letters.length === 0 ? html`<p>${t("hook.no_dead")}</p>`
        : html`<div class="scroll"><table>
          <thead><tr><th scope="col">${t("hook.event")}</th><th scope="col">${t("hook.attempts")}</th>
            <th scope="col">${t("hook.error")}</th><th scope="col">${t("hook.since")}</th><th scope="col">${t("op.actions")}</th></tr></thead>
          <tbody>${letters.map((d) => html`
            <tr data-letter=${d.id}>
              <td>#${d.event_id}</td><td>${d.attempts}</td><td>${d.last_error || ""}</td><td>${when(d.since)}</td>
              <td class="actions"><button type="button" onClick=${() => replay(d)}
                aria-label=${t("hook.replay_event", { id: d.event_id })}>${t("hook.replay")}</button></td>
            </tr>`)}</tbody>
        </table></div>`}
    </div>`;
}

// The newest deliveries whatever their state (GET …/deliveries), on request.
function DeliveryLog({ hook }) {
  const [rows, setRows] = useState(null);
  const load = () => api("GET", `/v1/webhooks/${hook.id}/deliveries?limit=20`).then((p) => setRows(p.items));
  return html`
    <div class="delivery-log">
      <div class="section-head">
        <h4 id=${`log-${hook.id}`}>${t("hook.log")}</h4>
        <button type="button" onClick=${load} aria-describedby=${`log-${hook.id}`}>${rows === null ? t("hook.show_log") : t("refresh")}</button>
      </div>
      ${rows !== null && (rows.length === 0 ? html`<p>${t("hook.no_log")}</p>` : html`<div class="scroll"><table>
        <thead><tr><th scope="col">${t("hook.event")}</th><th scope="col">${t("hook.state")}</th>
          <th scope="col">${t("hook.attempts")}</th><th scope="col">${t("hook.error")}</th></tr></thead>
        <tbody>${rows.map((d) => html`
          <tr data-delivery=${d.id}><td>#${d.event_id}</td><td>${t(`hook.state_${d.status}`)}</td>
            <td>${d.attempts}</td><td>${d.last_error || ""}</td></tr>`)}</tbody>
      </table></div>`)}
    </div>`;
}

function NewWebhook({ store, onCreated }) {
  const [d, setD] = useState({ url: "", events: [] });
  const [errors, setErrors] = useState({});
  const submit = async (event) => {
    event.preventDefault();
    try {
      const hook = await api("POST", "/v1/webhooks", { ...d, store_id: store.id });
      setD({ url: "", events: [] });
      setErrors({});
      onCreated(hook);
    } catch (e) {
      const found = { url: e.about("url"), events: e.about("events") };
      // The private-address check is a domain refusal about the URL, not a schema problem.
      if (!found.url && !found.events && e.status === 422) found.url = e.detail;
      setErrors({ ...found, form: found.url || found.events ? "" : e.detail });
    }
  };
  return html`
    <form class="card" onSubmit=${submit} novalidate aria-labelledby="hook-new-title">
      <h2 id="hook-new-title">${t("hook.new")}</h2>
      <p class="form-error" role="alert">${errors.form || ""}</p>
      <${Field} id="hook-url" type="url" label=${t("hook.url")} hint=${t("hook.h_url")} error=${errors.url}
        value=${d.url} onInput=${(e) => setD({ ...d, url: e.target.value })} required />
      <${Checks} legend=${t("hook.events")} name="hook-events" values=${d.events} error=${errors.events}
        onChange=${(events) => setD({ ...d, events })} options=${EVENTS.map((v) => ({ value: v, label: v }))} />
      <div class="actions"><button type="submit">${t("hook.subscribe")}</button></div>
    </form>`;
}

export function Webhooks({ store }) {
  const [hooks, setHooks] = useState(null);
  const [secret, setSecret] = useState(null);
  const [status, setStatus] = useState("");
  const load = () => everything("/v1/webhooks").then((all) => setHooks(all.filter((h) => h.store_id === store.id)));
  useEffect(() => { load(); }, []);

  const created = (hook) => { setSecret(hook); setStatus(t("hook.created", { url: hook.url })); load(); };
  const remove = (hook) => api("DELETE", `/v1/webhooks/${hook.id}`).then(
    () => { setStatus(t("hook.deleted", { url: hook.url })); load(); },
    (e) => setStatus(e.detail),
  );
  return html`
    <div class="two-columns">
      <section class="card" aria-labelledby="hooks-title">
        <h2 id="hooks-title">${t("hook.title")}</h2>
        <p class="status" role="status" aria-live="polite">${status}</p>
        ${secret && html`
          <div class="secret" role="alert">
            <p>${t("hook.secret", { url: secret.url })}</p>
            <code>${secret.secret}</code>
            <button type="button" onClick=${() => setSecret(null)}>${t("op.secret_done")}</button>
          </div>`}
        ${hooks === null ? html`<p class="loading">${t("loading")}</p>`
          : hooks.length === 0 ? html`<p>${t("hook.empty")}</p>`
          : html`<ul class="plain-list hooks">${hooks.map((h) => html`
            <li class="hook" data-hook=${h.id}>
              <h3>${h.url}</h3>
              <p class="meta">${h.events.join(", ")}</p>
              <button type="button" class="danger" onClick=${() => remove(h)}
                aria-label=${t("hook.delete", { url: h.url })}>${t("hook.unsubscribe")}</button>
              <${DeadLetters} hook=${h} />
              <${DeliveryLog} hook=${h} />
            </li>`)}</ul>`}
      </section>
      <${NewWebhook} store=${store} onCreated=${created} />
    </div>`;
}
