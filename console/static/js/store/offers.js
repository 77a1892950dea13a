// A store's offers: the list, and the form that creates or changes one.
import { html, useState, useEffect } from "../html.js";
import { api, everything } from "../api.js";
import { t } from "../i18n.js";
import { OfferForm } from "./offer-form.js";

export function Offers({ store, features, lang }) {
  const [offers, setOffers] = useState(null);
  const [segments, setSegments] = useState([]);
  const [zones, setZones] = useState([]);
  const [editing, setEditing] = useState(null); // an offer, or {} for a new one
  const [status, setStatus] = useState("");

  const load = () => everything(`/v1/stores/${store.id}/offers`).then(setOffers);
  useEffect(() => {
    load();
    api("GET", "/v1/segments").then(setSegments);
    // Beacon zones an offer may name: the zones of the store's registered beacons.
    everything(`/v1/stores/${store.id}/beacons`)
      .then((beacons) => setZones([...new Set(beacons.map((b) => b.zone))].sort()), () => setZones([]));
  }, []);

  const saved = (offer) => {
    setEditing(null);
    setStatus(t("offer.saved", { title: offer.title }));
    load();
  };
  const remove = (offer) => api("DELETE", `/v1/offers/${offer.id}`).then(
    () => { setStatus(t("offer.deleted", { title: offer.title })); load(); },
    (e) => setStatus(e.detail),
  );

  if (editing) {
    return html`<${OfferForm} store=${store} offer=${editing} segments=${segments} zones=${zones}
      features=${features} lang=${lang} onSaved=${saved} onCancel=${() => setEditing(null)} />`;
  }
  return html`
    <section class="card" aria-labelledby="offers-title">
      <div class="section-head">
        <h2 id="offers-title">${t("offer.title_list")}</h2>
        <button type="button" onClick=${() => setEditing({})}>${t("offer.new")}</button>
      </div>
      <p class="status" role="status" aria-live="polite">${status}</p>
      ${offers === null ? html`<p class="loading">${t("loading")}</p>`
        : offers.length === 0 ? html`<p>${t("offer.empty")}</p>`
        : html`<ul class="offer-list">${offers.map((o) => html`
          <li class="offer" data-offer=${o.id}>
            <h3>${o.title}</h3>
            <p>${o.body}</p>
            <p class="meta">
              ${t(`trigger.${o.trigger}`)} · ${o.segments.join(", ")} ·
              ${o.active ? t("offer.active") : html`<strong>${t("offer.inactive")}</strong>`}
              ${o.inactive_reason && html` (${o.inactive_reason})`}
            </p>
            <div class="actions">
              <button type="button" onClick=${() => setEditing(o)}>${t("edit")}</button>
              <button type="button" class="danger" onClick=${() => remove(o)}>${t("delete")}</button>
            </div>
          </li>`)}</ul>`}
    </section>`;
}
