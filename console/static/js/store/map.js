// A store's geofences on a Leaflet map: draw circles and polygons (Leaflet-Geoman), drag
// their vertices, move them, resize a circle, rename, delete. Every change is sent to the
// API as is, and the API's refusal (self-intersection, too big, far from the store) is
// shown on the shape itself and beside its fields.
import { html, useState, useEffect, useRef } from "../html.js";
import { api } from "../api.js";
import { t } from "../i18n.js";
import { baseMap } from "../basemap.js";

const STYLE = { color: "#1f5fa8", weight: 2 };
const SELECTED = { color: "#b35c00", weight: 3 };
const REFUSED = { color: "#b00020", weight: 3, dashArray: "6 4" };

/** A Leaflet layer for a GeoJSON geofence: a circle for a Point with a radius. */
function layerOf(feature) {
  const g = feature.geometry;
  const flip = (ring) => ring.slice(0, -1).map(([lon, lat]) => [lat, lon]);
  if (g.type === "Point") return L.circle([g.coordinates[1], g.coordinates[0]], { ...STYLE, radius: feature.properties.radius_m });
  if (g.type === "Polygon") return L.polygon(g.coordinates.map(flip), STYLE);
  return L.polygon(g.coordinates.map((poly) => poly.map(flip)), STYLE);
}

/** The geometry (and radius) the API takes for a layer. */
function shapeOf(layer) {
  if (layer instanceof L.Circle) {
    const c = layer.getLatLng();
    return { geometry: { type: "Point", coordinates: [c.lng, c.lat] }, radius_m: Math.round(layer.getRadius() * 10) / 10 };
  }
  return { geometry: layer.toGeoJSON(7).geometry, radius_m: null };
}

/** Shows the API's sentence on the shape (text, never HTML), or clears it. */
function mark(layer, message, selected) {
  layer.unbindTooltip();
  layer.setStyle(message ? REFUSED : selected ? SELECTED : STYLE);
  if (!message) return;
  const text = document.createElement("span");
  text.textContent = message;
  layer.bindTooltip(text, { permanent: true, direction: "top", className: "fence-error" }).openTooltip();
}

export function FenceMap({ store, features, setFeatures, lang }) {
  const box = useRef(null);
  const map = useRef(null);
  const layers = useRef(new Map());
  const [items, setItems] = useState(() => features.map((f) => ({
    key: `f${f.id}`, id: f.id, name: f.properties.name, dwell_s: f.properties.dwell_s,
    circle: f.geometry.type === "Point", radius_m: f.properties.radius_m, error: null, fields: {},
  })));
  const [selected, setSelected] = useState(null);
  const [drawing, setDrawing] = useState(null);
  const [status, setStatus] = useState("");
  const drawnCount = useRef(0);
  const itemsRef = useRef(items);
  itemsRef.current = items;
  const patch = (key, change) => setItems((all) => all.map((i) => (i.key === key ? { ...i, ...change } : i)));

  useEffect(() => {
    const m = baseMap(box.current);
    map.current = m;
    m.pm.setGlobalOptions({ allowSelfIntersection: true, snappable: false, pathOptions: STYLE, templineStyle: STYLE, hintlineStyle: { ...STYLE, dashArray: "4 4" } });
    // A view first: a circle measures its bounds through the map's projection.
    const where = store.location;
    if (where) {
      m.setView([where.lat, where.lon], 17);
      L.circleMarker([where.lat, where.lon], { radius: 6, color: "#1b1f24", fillOpacity: 1, pmIgnore: true })
        .bindTooltip(store.name).addTo(m);
    } else m.setView([46.6, 2.4], 5);
    for (const f of features) watch(`f${f.id}`, layerOf(f).addTo(m));
    if (layers.current.size) {
      m.fitBounds(L.featureGroup([...layers.current.values()]).getBounds(), { padding: [30, 30], maxZoom: 18 });
    }
    m.on("pm:create", ({ layer }) => added(layer));
    m.on("pm:drawend", () => setDrawing(null));
    return () => m.remove();
  }, []);
  useEffect(() => { map.current.pm.setLang(lang === "fr" ? "fr" : "en"); }, [lang]);
  useEffect(() => {
    for (const [key, layer] of layers.current) {
      const item = itemsRef.current.find((i) => i.key === key);
      mark(layer, item && item.error, key === selected);
      if (key === selected) layer.pm.enable({ allowSelfIntersection: true, draggable: true, snappable: false });
      else if (layer.pm.enabled()) layer.pm.disable();
    }
  }, [selected, items]);

  /** A shape just drawn (or placed): listed unsaved, selected, waiting for its Save. */
  function added(layer) {
    drawnCount.current += 1;
    const key = `n${drawnCount.current}`;
    watch(key, layer);
    const circle = layer instanceof L.Circle;
    const name = t(circle ? "fence.new_circle" : "fence.new_polygon", { n: itemsRef.current.length + 1 });
    const radius_m = circle ? shapeOf(layer).radius_m : null;
    setItems((all) => [...all, { key, id: null, name, dwell_s: 300, circle, radius_m, error: null, fields: {} }]);
    setSelected(key);
    setStatus(t("fence.drawn"));
  }

  /** Without a pointer: a circle at the map's centre, sized by its radius field. */
  function placeCircle() {
    draw(null);
    added(L.circle(map.current.getCenter(), { ...STYLE, radius: 25 }).addTo(map.current));
  }

  function select(key) {
    const layer = layers.current.get(key);
    if (!map.current.getBounds().contains(layer.getBounds())) {
      map.current.fitBounds(layer.getBounds(), { padding: [30, 30], maxZoom: 18 });
    }
    setSelected(key);
  }

  function resize(item, value) {
    const radius = Number(value);
    if (radius > 0) layers.current.get(item.key).setRadius(radius);
    patch(item.key, { radius_m: value });
  }

  function watch(key, layer) {
    layers.current.set(key, layer);
    layer.on("click", () => setSelected(key));
    // A saved shape's new outline is sent at once; a new one waits for its Save.
    layer.on("pm:edit", () => {
      const item = itemsRef.current.find((i) => i.key === key);
      if (item && item.circle) patch(key, { radius_m: shapeOf(layer).radius_m });
      if (item && item.id) send(item, shapeOf(layer));
    });
  }

  /** Saves a fence: its fields, and ``shape`` (just edited on the map) or its layer's. */
  async function send(item, shape) {
    const drawn = shape || shapeOf(layers.current.get(item.key));
    const properties = { name: item.name, dwell_s: Number(item.dwell_s) };
    // A circle's radius is its field's, unless the map has just resized it.
    if (item.circle) properties.radius_m = shape ? shape.radius_m : Number(item.radius_m);
    const body = { type: "Feature", geometry: drawn.geometry, properties };
    try {
      const saved = item.id
        ? await api("PATCH", `/v1/geofences/${item.id}`, body)
        : await api("POST", `/v1/stores/${store.id}/geofences`, body);
      patch(item.key, { id: saved.id, error: null, fields: {} });
      setFeatures((all) => [...all.filter((f) => f.id !== saved.id), saved].sort((a, b) => a.id - b.id));
      setStatus(t("fence.saved", { name: saved.properties.name }));
    } catch (e) {
      const fields = {
        name: e.about("properties.name"), dwell_s: e.about("properties.dwell_s"),
        // The shape's checks name the radius in their sentence, not as a field.
        radius_m: e.about("properties.radius_m") || e.about("radius_m"),
      };
      patch(item.key, { error: fields.name || fields.dwell_s || fields.radius_m ? null : e.detail, fields });
      setStatus(t("fence.refused"));
    }
  }

  async function remove(item) {
    if (item.id) {
      try {
        await api("DELETE", `/v1/geofences/${item.id}`);
      } catch (e) {
        patch(item.key, { error: e.detail });
        return;
      }
    }
    layers.current.get(item.key).remove();
    layers.current.delete(item.key);
    setItems((all) => all.filter((i) => i.key !== item.key));
    if (item.id) setFeatures((all) => all.filter((f) => f.id !== item.id));
    setStatus(t(item.id ? "fence.deleted" : "fence.discarded", { name: item.name }));
  }

  function draw(shape) {
    setSelected(null);
    if (drawing) map.current.pm.disableDraw();
    if (shape) map.current.pm.enableDraw(shape);
    setDrawing(shape);
  }

  return html`
    <div class="map-layout">
      <div class="map-column">
        <div class="toolbar" role="group" aria-label=${t("fence.tools")}>
          <button type="button" onClick=${() => draw("Polygon")} aria-pressed=${drawing === "Polygon"}>${t("fence.draw_polygon")}</button>
          <button type="button" onClick=${() => draw("Circle")} aria-pressed=${drawing === "Circle"}>${t("fence.draw_circle")}</button>
          <button type="button" onClick=${placeCircle}>${t("fence.place_circle")}</button>
          ${drawing && html`<button type="button" onClick=${() => draw(null)}>${t("fence.cancel")}</button>`}
        </div>
        <p class="hint">${drawing === "Polygon" ? t("fence.hint_polygon") : drawing === "Circle" ? t("fence.hint_circle") : t("fence.hint")}</p>
        <div ref=${box} class="map" id="fence-map" aria-label=${t("fence.map", { store: store.name })}></div>
        <p class="status" role="status" aria-live="polite">${status}</p>
      </div>
      <section class="fence-list" aria-labelledby="fences-title">
        <h2 id="fences-title">${t("fence.title")}</h2>
        ${items.length === 0 && html`<p>${t("fence.empty")}</p>`}
        <ul>${items.map((item) => html`<${FenceItem} key=${item.key} item=${item} selected=${item.key === selected}
          onChange=${(change) => patch(item.key, change)} onSave=${() => send(item)} onSelect=${() => select(item.key)}
          onResize=${(value) => resize(item, value)}
          onRemove=${() => remove(item)} />`)}</ul>
      </section>
    </div>`;
}

function FenceItem({ item, selected, onChange, onSave, onSelect, onResize, onRemove }) {
  const id = `fence-${item.key}`;
  const submit = (event) => { event.preventDefault(); onSave(); };
  return html`
    <li class=${`fence${selected ? " selected" : ""}${item.error ? " refused" : ""}`} data-fence=${item.id || "new"}>
      <form onSubmit=${submit} novalidate>
        <fieldset>
          <legend>${t(item.circle ? "fence.circle" : "fence.polygon")} ${item.id ? `#${item.id}` : `(${t("fence.unsaved")})`}</legend>
          <label for=${`${id}-name`}>${t("fence.name")}</label>
          <input id=${`${id}-name`} value=${item.name} required maxlength="200"
            onInput=${(e) => onChange({ name: e.target.value })}
            aria-invalid=${item.fields.name ? "true" : "false"} aria-describedby=${`${id}-name-error`} />
          <p id=${`${id}-name-error`} class="field-error">${item.fields.name || ""}</p>
          <label for=${`${id}-dwell`}>${t("fence.dwell")}</label>
          <input id=${`${id}-dwell`} type="number" min="0" max="86400" step="1" value=${item.dwell_s}
            onInput=${(e) => onChange({ dwell_s: e.target.value })}
            aria-invalid=${item.fields.dwell_s ? "true" : "false"} aria-describedby=${`${id}-dwell-error`} />
          <p id=${`${id}-dwell-error`} class="field-error">${item.fields.dwell_s || ""}</p>
          ${item.circle && html`
            <label for=${`${id}-radius`}>${t("fence.radius")}</label>
            <input id=${`${id}-radius`} type="number" min="10" max="5000" step="any" value=${item.radius_m}
              onInput=${(e) => onResize(e.target.value)}
              aria-invalid=${item.fields.radius_m ? "true" : "false"} aria-describedby=${`${id}-radius-error`} />
            <p id=${`${id}-radius-error`} class="field-error">${item.fields.radius_m || ""}</p>`}
          <p class="shape-error" role="alert">${item.error || ""}</p>
          <div class="actions">
            <button type="submit">${t("save")}</button>
            <button type="button" onClick=${onSelect} aria-pressed=${selected}>${t("fence.edit_shape")}</button>
            <button type="button" class="danger" onClick=${onRemove}>${item.id ? t("delete") : t("fence.discard")}</button>
          </div>
        </fieldset>
      </form>
    </li>`;
}
