// A store's geofences as a GeoJSON FeatureCollection: downloaded as a file, or uploaded
// (matched on each feature's external_id; one bad feature and nothing is imported, the
// API naming each bad one, listed beside the upload).
import { html, useState } from "../html.js";
import { api } from "../api.js";
import { t } from "../i18n.js";
import { Field } from "../ui.js";

/** Saves ``data`` as a file the browser downloads (the export needs the key: no link). */
function download(data, name) {
  const url = URL.createObjectURL(new Blob([JSON.stringify(data, null, 2)], { type: "application/geo+json" }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 0);
}

export function GeoJsonTransfer({ store, onImported }) {
  const [file, setFile] = useState(null);
  const [error, setError] = useState("");
  const [refused, setRefused] = useState([]);
  const [status, setStatus] = useState("");

  const exportAll = () => api("GET", `/v1/stores/${store.id}/geofences/export`).then(
    (data) => {
      download(data, `store-${store.id}-geofences.geojson`);
      setStatus(t("geojson.exported", { n: data.features.length }));
    },
    (e) => setStatus(e.detail),
  );

  const submit = async (event) => {
    event.preventDefault();
    setError("");
    setRefused([]);
    setStatus("");
    if (!file) { setError(t("geojson.pick")); return; }
    let data;
    try {
      data = JSON.parse(await file.text());
    } catch {
      setError(t("geojson.not_json"));
      return;
    }
    try {
      const report = await api("POST", `/v1/stores/${store.id}/geofences/import`, data);
      setStatus(t("geojson.imported", report));
      onImported();
    } catch (e) {
      setError(e.detail);
      setRefused(e.errors);
    }
  };

  return html`
    <section class="card geojson" aria-labelledby="geojson-title">
      <h2 id="geojson-title">${t("geojson.title")}</h2>
      <div class="side-by-side">
        <form onSubmit=${submit} novalidate>
          <${Field} id="geojson-file" type="file" accept=".geojson,.json,application/geo+json,application/json"
            label=${t("geojson.file")} hint=${t("geojson.h_file")} error=${error}
            onChange=${(e) => setFile(e.target.files[0] || null)} />
          <div class="actions">
            <button type="submit">${t("geojson.import")}</button>
            <button type="button" onClick=${exportAll}>${t("geojson.export")}</button>
          </div>
        </form>
        <div class="import-report">
          <p class="status" role="status" aria-live="polite">${status}</p>
          ${refused.length > 0 && html`
            <ul class="feature-errors" aria-label=${t("geojson.refused")}>${refused.map((r) => html`
              <li>${t("geojson.feature", { n: r.index, id: r.external_id || "—" })}: ${r.error}</li>`)}</ul>`}
        </div>
      </div>
    </section>`;
}
