// Store staff: their stores, each with a map of its geofences, its offers, its activity,
// its catalogue, NFC tags, webhooks and the till.
import { html, useState, useEffect } from "../html.js";
import { everything } from "../api.js";
import { t } from "../i18n.js";
import { FenceMap } from "./map.js";
import { Offers } from "./offers.js";
import { Activity } from "./activity.js";
import { Catalogue } from "./catalogue.js";
import { NfcTags } from "./nfc.js";
import { Webhooks } from "./webhooks.js";
import { Till } from "./till.js";
import { GeoJsonTransfer } from "./geojson.js";

const VIEWS = ["map", "offers", "activity", "catalogue", "till", "nfc", "webhooks"];
const OTHERS = { catalogue: Catalogue, till: Till, nfc: NfcTags, webhooks: Webhooks };

/** ``#/store/<id>/<view>``: which store and view are shown, kept in the address. */
function route() {
  const m = location.hash.match(/^#\/store\/(\d+)\/(\w+)/);
  return m ? { storeId: Number(m[1]), view: VIEWS.includes(m[2]) ? m[2] : "map" } : {};
}

export function StorePage({ me, lang }) {
  const [stores, setStores] = useState(null);
  const [where, setWhere] = useState(route());
  const [features, setFeatures] = useState(null);
  const [imports, setImports] = useState(0);

  useEffect(() => {
    everything("/v1/stores").then(setStores, () => setStores([]));
    const follow = () => setWhere(route());
    addEventListener("hashchange", follow);
    return () => removeEventListener("hashchange", follow);
  }, []);
  const store = stores && (stores.find((s) => s.id === where.storeId) || stores[0]);
  const view = where.view || "map";
  useEffect(() => {
    setFeatures(null);
    if (store) everything(`/v1/stores/${store.id}/geofences`, "features").then(setFeatures);
  }, [store && store.id]);
  // After a GeoJSON import: the store's geofences again, and the map drawn afresh from them.
  const imported = () => everything(`/v1/stores/${store.id}/geofences`, "features")
    .then((all) => { setFeatures(all); setImports((n) => n + 1); });

  if (stores === null) return html`<p class="loading">${t("loading")}</p>`;
  if (!store) return html`<p class="card">${t("store.none", { name: me.name })}</p>`;
  const go = (storeId, next) => { location.hash = `#/store/${storeId}/${next}`; };
  return html`
    <div class="store-bar">
      <label for="store-pick">${t("store.pick")}</label>
      <select id="store-pick" value=${store.id} onChange=${(e) => go(e.target.value, view)}>
        ${stores.map((s) => html`<option value=${s.id}>${s.name}</option>`)}
      </select>
      <nav aria-label=${t("store.views")}>
        ${VIEWS.map((v) => html`
          <a href=${`#/store/${store.id}/${v}`} class="tab" aria-current=${v === view ? "page" : "false"}>
            ${t(`view.${v}`)}</a>`)}
      </nav>
    </div>
    ${OTHERS[view] ? html`<${OTHERS[view]} key=${store.id} store=${store} lang=${lang} />`
      : features === null ? html`<p class="loading">${t("loading")}</p>`
      : view === "map" ? html`
        <${FenceMap} key=${`${store.id}-${imports}`} store=${store} features=${features} setFeatures=${setFeatures} lang=${lang} />
        <${GeoJsonTransfer} key=${store.id} store=${store} onImported=${imported} />`
      : view === "offers" ? html`<${Offers} key=${store.id} store=${store} features=${features} lang=${lang} />`
      : html`<${Activity} key=${store.id} store=${store} lang=${lang} />`}`;
}
