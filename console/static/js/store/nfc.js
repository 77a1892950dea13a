// A store's NFC tags: the list, register one (its UID and where it is), remove one.
import { html, useState, useEffect } from "../html.js";
import { api, everything } from "../api.js";
import { t } from "../i18n.js";
import { Field } from "../ui.js";

export function NfcTags({ store }) {
  const [tags, setTags] = useState(null);
  const [d, setD] = useState({ uid: "", placement: "" });
  const [errors, setErrors] = useState({});
  const [status, setStatus] = useState("");

  const load = () => everything(`/v1/stores/${store.id}/nfc-tags`).then(setTags);
  useEffect(() => { load(); }, []);

  const submit = async (event) => {
    event.preventDefault();
    try {
      const tag = await api("POST", `/v1/stores/${store.id}/nfc-tags`, d);
      setD({ uid: "", placement: "" });
      setErrors({});
      setStatus(t("nfc.created", { placement: tag.placement }));
      load();
    } catch (e) {
      const found = { uid: e.about("uid"), placement: e.about("placement") };
      // A UID already registered (409) is the UID's problem.
      if (e.status === 409) found.uid = e.detail;
      setErrors({ ...found, form: found.uid || found.placement ? "" : e.detail });
    }
  };
  const remove = (tag) => api("DELETE", `/v1/nfc-tags/${tag.id}`).then(
    () => { setStatus(t("nfc.deleted", { placement: tag.placement })); load(); },
    (e) => setStatus(e.detail),
  );
  const set = (field) => (e) => setD({ ...d, [field]: e.target.value });

  return html`
    <div class="two-columns">
      <section class="card" aria-labelledby="nfc-title">
        <h2 id="nfc-title">${t("nfc.title")}</h2>
        <p class="status" role="status" aria-live="polite">${status}</p>
        ${tags === null ? html`<p class="loading">${t("loading")}</p>`
          : tags.length === 0 ? html`<p>${t("nfc.empty")}</p>`
          : html`<ul class="plain-list">${tags.map((tag) => html`
            <li data-tag=${tag.id}>
              <strong>${tag.placement}</strong> <code>${tag.uid}</code>
              <span class="meta">${t("nfc.zone")} ${tag.zone}</span>
              <button type="button" class="danger" onClick=${() => remove(tag)}
                aria-label=${t("nfc.delete", { placement: tag.placement })}>${t("delete")}</button>
            </li>`)}</ul>`}
      </section>
      <form class="card" onSubmit=${submit} novalidate aria-labelledby="nfc-new-title">
        <h2 id="nfc-new-title">${t("nfc.new")}</h2>
        <p class="form-error" role="alert">${errors.form || ""}</p>
        <${Field} id="nfc-uid" label=${t("nfc.uid")} hint=${t("nfc.h_uid")} error=${errors.uid}
          value=${d.uid} onInput=${set("uid")} maxlength="40" required autocomplete="off" />
        <${Field} id="nfc-placement" label=${t("nfc.placement")} hint=${t("nfc.h_placement")} error=${errors.placement}
          value=${d.placement} onInput=${set("placement")} required />
        <div class="actions"><button type="submit">${t("nfc.register")}</button></div>
      </form>
    </div>`;
}
