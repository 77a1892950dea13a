// Consent per purpose, under the policy version in force: a box per purpose, saved at once
// into the consent ledger (a withdrawal applies to the very next event).
import { html, useState, useEffect } from "../html.js";
import { api } from "../api.js";
import { t } from "../i18n.js";

const PURPOSES = ["location_offers", "beacon_proximity", "friends_looks", "share_id_with_stores"];

export function Consent({ lang }) {
  const [state, setState] = useState(null); // GET /v1/me/consent
  const [policy, setPolicy] = useState(null); // GET /v1/policies/current
  const [chosen, setChosen] = useState({});
  const [status, setStatus] = useState("");
  const [error, setError] = useState(null);

  const show = (consent) => {
    setState(consent);
    setChosen(Object.fromEntries(consent.purposes.map((p) => [p.purpose, p.granted])));
  };
  useEffect(() => {
    api("GET", "/v1/me/consent").then(show);
    api("GET", "/v1/policies/current").then(setPolicy);
  }, []);

  const save = async (event) => {
    event.preventDefault();
    setError(null);
    // Only what changed (and anything granted but no longer in force: granted again under
    // the current terms) goes into the ledger.
    const purposes = Object.fromEntries(state.purposes
      .filter((p) => chosen[p.purpose] !== p.granted || (chosen[p.purpose] && !p.in_force))
      .map((p) => [p.purpose, chosen[p.purpose]]));
    if (!Object.keys(purposes).length) { setStatus(t("me.consent_same")); return; }
    try {
      show(await api("PUT", "/v1/me/consent", { purposes, policy_version: policy.version, source: "console" }));
      setStatus(t("me.consent_saved"));
    } catch (e) {
      setError(e.message);
      setStatus("");
    }
  };

  const byPurpose = state ? Object.fromEntries(state.purposes.map((p) => [p.purpose, p])) : {};
  const published = policy?.published_at
    ? new Intl.DateTimeFormat(lang, { dateStyle: "long" }).format(new Date(policy.published_at)) : null;
  return html`
    <section class="card" id="me-consent" aria-labelledby="consent-title">
      <h2 id="consent-title">${t("me.consent")}</h2>
      ${policy && html`<p class="policy">${published
        ? t("me.policy_published", { version: policy.version, date: published })
        : t("me.policy", { version: policy.version })} ${policy.summary}</p>`}
      ${state === null || policy === null ? html`<p class="loading">${t("loading")}</p>` : html`
        <form onSubmit=${save} novalidate>
          <fieldset class="consent" aria-describedby="consent-error">
            <legend>${t("me.consent_legend")}</legend>
            ${PURPOSES.filter((p) => p in byPurpose).map((p) => {
              const line = byPurpose[p];
              const stale = line.granted && !line.in_force;
              return html`
                <div class="purpose" data-purpose=${p}>
                  <label>
                    <input type="checkbox" name="consent" value=${p} checked=${Boolean(chosen[p])}
                      aria-describedby=${`purpose-${p}-hint purpose-${p}-state`}
                      onChange=${(e) => setChosen({ ...chosen, [p]: e.target.checked })} />
                    ${t(`purpose.${p}`)}
                  </label>
                  <p id=${`purpose-${p}-hint`} class="hint">${t(`purpose.${p}_hint`)}</p>
                  <p id=${`purpose-${p}-state`} class=${`consent-state ${stale ? "stale" : ""}`}>
                    ${stale ? t("me.consent_stale", { version: line.policy_version })
                      : line.granted ? t("me.consent_on", { version: line.policy_version })
                      : t("me.consent_off")}
                  </p>
                </div>`;
            })}
            <p id="consent-error" class="field-error">${error || ""}</p>
          </fieldset>
          <button type="submit">${t("me.consent_save")}</button>
          <p class="status" role="status" aria-live="polite">${status}</p>
        </form>`}
    </section>`;
}
