// What left the server: pushes written to the local outbox (no FCM credentials), and the
// webhook deliveries that failed for a day (dead letters), replayed once the receiver is
// fixed.
import { html, useState, useEffect } from "../html.js";
import { api, everything } from "../api.js";
import { t } from "../i18n.js";

export function Deliveries({ lang }) {
  const when = new Intl.DateTimeFormat(lang, { dateStyle: "short", timeStyle: "medium" });
  return html`
    <${DeadLetters} when=${when} />
    <${Outbox} when=${when} />`;
}

function DeadLetters({ when }) {
  const [hooks, setHooks] = useState(null); // [{hook, letters}]
  const [status, setStatus] = useState("");
  const [errors, setErrors] = useState({}); // by delivery id
  const load = async () => {
    const all = await everything("/v1/webhooks");
    setHooks(await Promise.all(all.map(async (hook) => ({
      hook, letters: await everything(`/v1/webhooks/${hook.id}/dead-letters`),
    }))));
  };
  useEffect(() => { load(); }, []);
  const replay = async (hook, letter) => {
    try {
      const again = await api("POST", `/v1/webhooks/${hook.id}/dead-letters/${letter.id}/replay`);
      setErrors({});
      setStatus(again.last_error
        ? t("dl.replayed_failing", { id: letter.id, error: again.last_error })
        : t("dl.replayed", { id: letter.id }));
      load();
    } catch (e) {
      setErrors({ [letter.id]: e.message });
    }
  };
  const dead = hooks ? hooks.filter((h) => h.letters.length) : [];
  return html`
    <section class="card" aria-labelledby="dl-title">
      <div class="section-head"><h2 id="dl-title">${t("dl.title")}</h2>
        <button type="button" onClick=${() => { setStatus(""); load(); }}>${t("refresh")}</button></div>
      <p class="hint">${t("dl.intro")}</p>
      <p class="status" role="status" aria-live="polite">${status}</p>
      ${hooks === null ? html`<p class="loading">${t("loading")}</p>`
        : dead.length === 0 ? html`<p class="empty">${t("dl.none", { n: hooks.length })}</p>`
        : dead.map(({ hook, letters }) => html`
          <div class="hook" data-webhook=${hook.id}>
            <h3>${hook.url}</h3>
            <p class="meta">${hook.store_id ? t("dl.store", { id: hook.store_id }) : t("dl.all_stores")} · ${hook.events.join(", ")}</p>
            <div class="scroll"><table class="deliveries">
              <thead><tr><th scope="col">${t("dl.event")}</th><th scope="col">${t("dl.since")}</th>
                <th scope="col">${t("dl.attempts")}</th><th scope="col">${t("dl.error")}</th><th scope="col"><span class="sr-only">${t("op.actions")}</span></th></tr></thead>
              <tbody>${letters.map((d) => html`
                <tr data-delivery=${d.id}>
                  <th scope="row">#${d.event_id}</th><td>${when.format(new Date(d.since))}</td>
                  <td>${d.attempts}</td><td>${d.last_error || "—"}</td>
                  <td class="actions"><button type="button" aria-describedby=${`dl-${d.id}-error`} onClick=${() => replay(hook, d)}>${t("dl.replay")}</button>
                    <p id=${`dl-${d.id}-error`} class="field-error" role="alert">${errors[d.id] || ""}</p></td>
                </tr>`)}</tbody>
            </table></div>
          </div>`)}
    </section>`;
}

function Outbox({ when }) {
  const [entries, setEntries] = useState(null);
  const load = () => api("GET", "/v1/outbox").then(setEntries);
  useEffect(() => { load(); }, []);
  return html`
    <section class="card" aria-labelledby="outbox-title">
      <div class="section-head"><h2 id="outbox-title">${t("ob.title")}</h2>
        <button type="button" onClick=${load}>${t("refresh")}</button></div>
      <p class="hint">${t("ob.intro")}</p>
      ${entries === null ? html`<p class="loading">${t("loading")}</p>`
        : entries.length === 0 ? html`<p class="empty">${t("ob.none")}</p>`
        : html`<div class="scroll"><table class="deliveries outbox">
            <thead><tr><th scope="col">${t("ob.sent_at")}</th><th scope="col">${t("ob.push")}</th><th scope="col">${t("ob.device")}</th></tr></thead>
            <tbody>${entries.map((e) => html`<tr>
              <th scope="row">${when.format(new Date(e.sent_at))}</th>
              <td><strong>${e.title}</strong><br />${e.body}</td>
              <td><code>…${e.token.slice(-8)}</code></td></tr>`)}</tbody>
          </table></div>`}
    </section>`;
}
