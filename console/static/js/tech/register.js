// Register a beacon (POST /v1/beacons): where it is (a click on the map), its zone, and
// one identity, typed in or pasted as the scanner reported its advertisement.
import { html, useState } from "../html.js";
import { api } from "../api.js";
import { t } from "../i18n.js";
import { Field } from "../ui.js";

const KINDS = ["ibeacon", "eddystone_uid", "advertisement"];
const FIELDS = ["zone", "floor", "lon", "lat", "measured_power_1m", "ibeacon.uuid", "ibeacon.major",
  "ibeacon.minor", "eddystone_uid.namespace", "eddystone_uid.instance", "advertisement"];

function identity(d) {
  if (d.kind === "ibeacon") return { ibeacon: { uuid: d.uuid.trim(), major: Number(d.major), minor: Number(d.minor) } };
  if (d.kind === "eddystone_uid") return { eddystone_uid: { namespace: d.namespace.trim(), instance: d.instance.trim() } };
  try {
    return { advertisement: JSON.parse(d.advertisement) };
  } catch {
    return { advertisement: d.advertisement };
  }
}

export function RegisterBeacon({ store, place, center, onPlace, onRegistered, onCancel }) {
  const [d, setD] = useState({ kind: "ibeacon", zone: "", floor: "", power: "", uuid: "", major: "", minor: "", namespace: "", instance: "", advertisement: "" });
  const [errors, setErrors] = useState({});
  const set = (field) => (e) => setD({ ...d, [field]: e.target.value });

  const submit = async (event) => {
    event.preventDefault();
    if (!place) {
      setErrors({ place: t("tech.place_first") });
      return;
    }
    const body = {
      store_id: store.id, zone: d.zone, lon: place.lon, lat: place.lat,
      floor: d.floor === "" ? null : Number(d.floor),
      measured_power_1m: d.power === "" ? null : Number(d.power), ...identity(d),
    };
    try {
      onRegistered(await api("POST", "/v1/beacons", body));
    } catch (e) {
      const found = Object.fromEntries(FIELDS.map((f) => [f, e.about ? e.about(f) : null]).filter(([, m]) => m));
      setErrors({ ...found, form: Object.keys(found).length ? t("form.fix") : e.message });
    }
  };
  return html`
    <form class="card register" onSubmit=${submit} novalidate aria-labelledby="register-title">
      <h2 id="register-title">${t("tech.register")}</h2>
      <p class="form-error" role="alert">${errors.form || ""}</p>
      <p id="beacon-place">${place ? t("tech.placed", { lat: place.lat.toFixed(6), lon: place.lon.toFixed(6) }) : t("tech.hint_place")}</p>
      <button type="button" onClick=${() => { const c = center(); onPlace({ lon: c.lng, lat: c.lat }); }}>${t("tech.use_centre")}</button>
      <p class="field-error">${errors.place || errors.lon || errors.lat || ""}</p>
      <${Field} id="beacon-zone" label=${t("tech.zone")} hint=${t("tech.h_zone")} error=${errors.zone} value=${d.zone} onInput=${set("zone")} maxlength="100" />
      <${Field} id="beacon-floor" type="number" label=${t("tech.floor_optional")} error=${errors.floor} value=${d.floor} onInput=${set("floor")} />
      <${Field} id="beacon-kind" label=${t("tech.kind")}>
        ${(a) => html`<select ...${a} value=${d.kind} onChange=${set("kind")}>
          ${KINDS.map((k) => html`<option value=${k}>${t(`kind.${k}`)}</option>`)}</select>`}
      <//>
      ${d.kind === "ibeacon" && html`
        <${Field} id="beacon-uuid" label="UUID" error=${errors["ibeacon.uuid"]} value=${d.uuid} onInput=${set("uuid")} spellcheck="false" />
        <div class="row">
          <${Field} id="beacon-major" type="number" label="Major" error=${errors["ibeacon.major"]} value=${d.major} onInput=${set("major")} />
          <${Field} id="beacon-minor" type="number" label="Minor" error=${errors["ibeacon.minor"]} value=${d.minor} onInput=${set("minor")} />
        </div>`}
      ${d.kind === "eddystone_uid" && html`
        <${Field} id="beacon-namespace" label=${t("tech.namespace")} error=${errors["eddystone_uid.namespace"]} value=${d.namespace} onInput=${set("namespace")} spellcheck="false" />
        <${Field} id="beacon-instance" label=${t("tech.instance")} error=${errors["eddystone_uid.instance"]} value=${d.instance} onInput=${set("instance")} spellcheck="false" />`}
      ${d.kind === "advertisement" && html`
        <${Field} id="beacon-advertisement" label=${t("tech.advertisement")} hint=${t("tech.h_advertisement")} error=${errors.advertisement}>
          ${(a) => html`<textarea ...${a} rows="4" spellcheck="false" value=${d.advertisement} onInput=${set("advertisement")}></textarea>`}
        <//>`}
      <${Field} id="beacon-power" type="number" label=${t("tech.power_optional")} error=${errors.measured_power_1m} value=${d.power} onInput=${set("power")} />
      <div class="actions">
        <button type="submit">${t("tech.register_submit")}</button>
        <button type="button" onClick=${onCancel}>${t("cancel")}</button>
      </div>
    </form>`;
}
