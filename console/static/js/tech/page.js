// Field technicians: a store's beacons on the map with their health; register one where
// the map is clicked, drag one to move it, calibrate, mark visited, retire.
import { html, useState, useEffect, useRef } from "../html.js";
import { api, everything } from "../api.js";
import { t } from "../i18n.js";
import { baseMap } from "../basemap.js";
import { RegisterBeacon } from "./register.js";
import { NfcTags } from "../store/nfc.js";

function beaconIcon(beacon) {
  return L.divIcon({ className: `beacon-pin health-${beacon.health}`, iconSize: [18, 18], html: "" });
}

export function TechPage({ lang }) {
  const [stores, setStores] = useState(null);
  const [storeId, setStoreId] = useState(null);
  useEffect(() => { everything("/v1/stores").then(setStores); }, []);
  if (stores === null) return html`<p class="loading">${t("loading")}</p>`;
  if (stores.length === 0) return html`<p class="card">${t("tech.no_store")}</p>`;
  const store = stores.find((s) => s.id === storeId) || stores[0];
  return html`
    <div class="store-bar">
      <label for="store-pick">${t("store.pick")}</label>
      <select id="store-pick" value=${store.id} onChange=${(e) => setStoreId(Number(e.target.value))}>
        ${stores.map((s) => html`<option value=${s.id}>${s.name}</option>`)}
      </select>
    </div>
    <${Beacons} key=${store.id} store=${store} lang=${lang} />
    <${NfcTags} key=${`nfc-${store.id}`} store=${store} />`;
}

function Beacons({ store, lang }) {
  const box = useRef(null);
  const map = useRef(null);
  const markers = useRef(new Map());
  const pin = useRef(null);
  const [beacons, setBeacons] = useState([]);
  const [registering, setRegistering] = useState(false);
  const [place, setPlace] = useState(null); // where a new beacon goes: {lon, lat}
  const [status, setStatus] = useState("");
  const [errors, setErrors] = useState({}); // beacon id → the API's refusal

  const show = (list) => {
    setBeacons(list);
    for (const marker of markers.current.values()) marker.remove();
    markers.current.clear();
    for (const b of list.filter((x) => x.health !== "retired")) {
      const marker = L.marker([b.lat, b.lon], { icon: beaconIcon(b), draggable: true, title: `${b.zone} · ${t(`health.${b.health}`)}` })
        .addTo(map.current);
      marker.on("dragend", () => move(b, marker.getLatLng(), marker));
      markers.current.set(b.id, marker);
    }
  };
  const load = () => everything(`/v1/stores/${store.id}/beacons`).then(show);

  useEffect(() => {
    const m = baseMap(box.current);
    map.current = m;
    // Centred on the store's point, else on its beacons (a tech key reads no geofence).
    const where = store.location;
    m.setView(where ? [where.lat, where.lon] : [46.6, 2.4], where ? 18 : 5);
    if (where) {
      L.circleMarker([where.lat, where.lon], { radius: 6, color: "#1b1f24", fillOpacity: 1, interactive: false }).addTo(m);
    }
    everything(`/v1/stores/${store.id}/beacons`).then((list) => {
      show(list);
      if (!where && list.length) {
        m.fitBounds(L.latLngBounds(list.map((b) => [b.lat, b.lon])), { padding: [40, 40], maxZoom: 19 });
      }
    });
    m.on("click", (e) => setPlace({ lon: e.latlng.lng, lat: e.latlng.lat }));
    return () => m.remove();
  }, []);
  useEffect(() => {
    if (pin.current) pin.current.remove();
    pin.current = registering && place
      ? L.circleMarker([place.lat, place.lon], { radius: 8, color: "#b35c00", fillOpacity: 0.6 }).addTo(map.current)
      : null;
  }, [registering, place]);

  async function act(beacon, call, done) {
    try {
      await call();
      setErrors({ ...errors, [beacon.id]: null });
      setStatus(t(done, { zone: beacon.zone }));
      load();
    } catch (e) {
      setErrors({ ...errors, [beacon.id]: e.message });
      load();
    }
  }
  const move = (b, to, marker) => act(b, () => api("POST", `/v1/beacons/${b.id}/move`,
    { store_id: store.id, zone: b.zone, floor: b.floor, lon: to.lng, lat: to.lat }), "tech.moved")
    .finally(() => marker.setLatLng(to));
  const visit = (b, replaced) => act(b, () => api("POST", `/v1/beacons/${b.id}/visit`, { battery_replaced: replaced }), "tech.visited");
  const retire = (b) => act(b, () => api("POST", `/v1/beacons/${b.id}/retire`), "tech.retired");
  const calibrate = (b, dbm) => act(b, () => api("PATCH", `/v1/beacons/${b.id}`, { measured_power_1m: Number(dbm) }), "tech.calibrated");

  const registered = (beacon) => {
    setRegistering(false);
    setPlace(null);
    setStatus(t("tech.registered", { zone: beacon.zone }));
    load();
  };
  const seen = new Intl.DateTimeFormat(lang, { dateStyle: "short", timeStyle: "short" });
  return html`
    <div class="map-layout">
      <div class="map-column">
        <div class="toolbar">
          <button type="button" aria-pressed=${registering} onClick=${() => setRegistering(!registering)}>${t("tech.register")}</button>
        </div>
        <p class="hint">${registering ? t("tech.hint_place") : t("tech.hint_move")}</p>
        <div ref=${box} class="map" id="beacon-map" aria-label=${t("tech.map", { store: store.name })}></div>
        <p class="status" role="status" aria-live="polite">${status}</p>
      </div>
      <section class="fence-list" aria-labelledby="beacons-title">
        ${registering && html`<${RegisterBeacon} store=${store} place=${place}
          center=${() => map.current.getCenter()} onPlace=${setPlace}
          onRegistered=${registered} onCancel=${() => setRegistering(false)} />`}
        <h2 id="beacons-title">${t("tech.beacons")}</h2>
        ${beacons.length === 0 && html`<p>${t("tech.none")}</p>`}
        <ul>${beacons.map((b) => html`
          <li class=${`beacon health-${b.health}`} data-beacon=${b.id}>
            <h3>${b.zone}${b.floor != null ? ` · ${t("tech.floor")} ${b.floor}` : ""}</h3>
            <p class="meta">${b.identity}</p>
            <p><strong>${t(`health.${b.health}`)}</strong>${b.visit_reason ? ` (${b.visit_reason})` : ""}</p>
            <p class="meta">${t("tech.battery")}: ${b.battery_mv != null ? `${b.battery_mv} mV` : "—"}${" · "}${t("tech.last_seen")}:
              ${b.last_seen_at ? seen.format(new Date(b.last_seen_at)) : t("tech.never")}</p>
            <p class="shape-error" role="alert">${errors[b.id] || ""}</p>
            ${b.health !== "retired" && html`<${BeaconActions} beacon=${b} onVisit=${visit} onRetire=${retire} onCalibrate=${calibrate} />`}
          </li>`)}</ul>
      </section>
    </div>`;
}

function BeaconActions({ beacon, onVisit, onRetire, onCalibrate }) {
  const [dbm, setDbm] = useState(beacon.measured_power_1m ?? -59);
  const [replaced, setReplaced] = useState(false);
  const id = `beacon-${beacon.id}`;
  return html`
    <form class="row" novalidate onSubmit=${(e) => { e.preventDefault(); onCalibrate(beacon, dbm); }}>
      <div class="field">
        <label for=${`${id}-power`}>${t("tech.power")}</label>
        <input id=${`${id}-power`} type="number" min="-100" max="20" value=${dbm} onInput=${(e) => setDbm(e.target.value)} />
      </div>
      <button type="submit">${t("tech.calibrate")}</button>
    </form>
    <label><input type="checkbox" checked=${replaced} onChange=${(e) => setReplaced(e.target.checked)} /> ${t("tech.battery_replaced")}</label>
    <div class="actions">
      <button type="button" onClick=${() => onVisit(beacon, replaced)}>${t("tech.visit")}</button>
      <button type="button" class="danger" onClick=${() => onRetire(beacon)}>${t("tech.retire")}</button>
    </div>`;
}
