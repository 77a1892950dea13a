// The shopper's rights over their data: a copy of everything (a JSON file) and erasure,
// which asks once more before it acts.
import { html, useState, useEffect } from "../html.js";
import { api } from "../api.js";
import { t } from "../i18n.js";

/** Saves ``data`` as a JSON file named ``name`` (no URL carries the token). */
function download(data, name) {
  const url = URL.createObjectURL(new Blob([JSON.stringify(data, null, 2)], { type: "application/json" }));
  const link = Object.assign(document.createElement("a"), { href: url, download: name });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 0);
}

export function Rights({ signOut }) {
  const [status, setStatus] = useState("");
  const [asking, setAsking] = useState(false);
  const [sure, setSure] = useState(false);
  const [error, setError] = useState(null);
  // The question replaces the button that asked it: the keyboard's focus follows.
  useEffect(() => { if (asking) document.getElementById("erase-sure")?.focus(); }, [asking]);

  const exportAll = async () => {
    setStatus(t("me.export_busy"));
    try {
      const data = await api("GET", "/v1/me/export");
      download(data, `vicinity-my-data-${data.exported_at.slice(0, 10)}.json`);
      setStatus(t("me.export_done"));
    } catch (e) {
      setStatus(e.message);
    }
  };
  const erase = async (event) => {
    event.preventDefault();
    if (!sure) { setError(t("me.erase_tick")); return; }
    try {
      await api("DELETE", "/v1/me");
      signOut(t("me.erased"));
    } catch (e) {
      setError(e.message);
    }
  };
  return html`
    <section class="card" id="me-rights" aria-labelledby="rights-title">
      <h2 id="rights-title">${t("me.rights")}</h2>
      <h3>${t("me.export")}</h3>
      <p>${t("me.export_intro")}</p>
      <button type="button" onClick=${exportAll}>${t("me.export_button")}</button>
      <p class="status" role="status" aria-live="polite">${status}</p>
      <h3>${t("me.erase")}</h3>
      <p>${t("me.erase_intro")}</p>
      ${!asking ? html`<button type="button" class="danger" onClick=${() => setAsking(true)}>${t("me.erase_button")}</button>`
        : html`
        <form class="confirm" onSubmit=${erase} novalidate aria-labelledby="erase-confirm-title">
          <p id="erase-confirm-title"><strong>${t("me.erase_question")}</strong></p>
          <label><input type="checkbox" id="erase-sure" checked=${sure} aria-describedby="erase-error"
            onChange=${(e) => { setSure(e.target.checked); setError(null); }} /> ${t("me.erase_sure")}</label>
          <p id="erase-error" class="field-error" role="alert">${error || ""}</p>
          <div class="actions">
            <button type="submit" class="danger solid">${t("me.erase_confirm")}</button>
            <button type="button" onClick=${() => { setAsking(false); setSure(false); setError(null); }}>${t("cancel")}</button>
          </div>
        </form>`}
    </section>`;
}
